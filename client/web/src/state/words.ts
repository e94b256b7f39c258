// What the app says about events, in the same words as `circle chat`
// (client/chat/render.cpp): pure functions from protocol messages to text.
import {
  EscalationReason,
  LeaveReason,
  MemberChange,
  PauseCause,
  ReportOutcome,
  Role,
  RoomChange,
  RoundChange,
  type Member,
  type MemberLeft,
  type MemberUpdated,
  type RoomUpdated,
  type RoundUpdated,
  type SupportOutcome,
  type YourAlertEscalated,
} from "../protocol";

export function roleName(role: Role): string {
  switch (role) {
    case Role.OBSERVER:
      return "observer";
    case Role.PARTICIPANT:
      return "participant";
    case Role.CO_FACILITATOR:
      return "co-facilitator";
    case Role.FACILITATOR:
      return "facilitator";
    case Role.ADMIN:
      return "operator";
    default:
      return "member";
  }
}

// "45 s", "10 min", "1 h 30 min".
export function durationText(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
}

export const reportOutcomes: readonly { outcome: ReportOutcome; word: string }[] = [
  { outcome: ReportOutcome.NO_ACTION, word: "no action" },
  { outcome: ReportOutcome.REDACTED, word: "redacted" },
  { outcome: ReportOutcome.MUTED, word: "muted" },
  { outcome: ReportOutcome.REMOVED, word: "removed" },
  { outcome: ReportOutcome.BANNED, word: "banned" },
  { outcome: ReportOutcome.OTHER, word: "other" },
];

export function reportOutcomeWord(outcome: ReportOutcome): string {
  return reportOutcomes.find((o) => o.outcome === outcome)?.word ?? "closed";
}

const withNote = (note: string) => (note ? `: ${note}` : "");
const nameOf = (member: Member | undefined) => member?.displayName ?? "someone";

export function memberUpdateText(
  update: MemberUpdated,
  eventMs: number,
  handsWaiting: number,
): string {
  const by = nameOf(update.by);
  const who = update.members.map((m) => m.displayName).join(", ");
  const note = withNote(update.note);
  const first = update.members[0];
  switch (update.change) {
    case MemberChange.MUTED: {
      const until = first ? Number(first.mutedUntilUnixMs) : 0;
      const length = until > 0 ? ` for ${durationText(until - eventMs)}` : "";
      return `${by} muted ${who}${length}${note}`;
    }
    case MemberChange.UNMUTED:
      return `${who} can speak again${update.by ? ` (unmuted by ${by})` : ""}`;
    case MemberChange.FLOOR_GIVEN:
      return `${by} gave ${who} the floor`;
    case MemberChange.FLOOR_TAKEN:
      return `${by} took the floor back from ${who}`;
    case MemberChange.ROLE:
      return `${by} made ${who} ${roleName(first?.role ?? Role.UNSPECIFIED)}${note}`;
    case MemberChange.FACILITATION: {
      const next = update.members[update.members.length - 1];
      return `${nameOf(next)} now facilitates${
        update.by ? ` (handed over by ${by})` : " (the facilitator did not come back)"
      }`;
    }
    case MemberChange.HAND_RAISED:
      return `${who} raised a hand (${handsWaiting} waiting)`;
    case MemberChange.HAND_LOWERED:
      return `${who}'s hand is down`;
    case MemberChange.AGREEMENT_ACCEPTED:
      return `${who} accepted the group agreement`;
    default:
      return `${who} changed`;
  }
}

export function roomUpdateText(update: RoomUpdated): string {
  const by = nameOf(update.by);
  const settings = update.settings;
  if (!settings) return `${by} changed the room`;
  switch (update.change) {
    case RoomChange.DETAILS:
      return `${by} updated the room: "${settings.title}"${
        settings.topic ? `, topic: ${settings.topic}` : ""
      }`;
    case RoomChange.AGREEMENT:
      return settings.agreement
        ? `${by} changed the group agreement`
        : `${by} removed the group agreement`;
    case RoomChange.LOCK:
      return settings.locked
        ? `${by} locked the room: no one new can join`
        : `${by} unlocked the room`;
    case RoomChange.WAITING_ROOM:
      return `${by} turned the waiting room ${settings.waitingRoom ? "on" : "off"}`;
    case RoomChange.MODERATED:
      return settings.moderated
        ? `${by} turned moderated mode on: raise your hand to speak`
        : `${by} turned moderated mode off: everyone may speak`;
    case RoomChange.SLOW_MODE:
      return settings.slowModeSeconds
        ? `${by} set slow mode: one message every ${settings.slowModeSeconds} s`
        : `${by} turned slow mode off`;
    case RoomChange.RETENTION:
      return settings.historyRetentionDays
        ? `${by} set the room to keep its history ${settings.historyRetentionDays} days`
        : `${by} made the room ephemeral: history is kept only long enough to reconnect`;
    case RoomChange.PERMISSIONS:
      return `${by} changed who may do what`;
    case RoomChange.PAUSE:
      if (!settings.paused) return `${by} resumed the room: everyone may take part again`;
      if (settings.pauseCause === PauseCause.NO_FACILITATOR) {
        return "The room is paused: no facilitator is here right now. It goes on when one returns. Asking for support still reaches help.";
      }
      return `${by} paused the room: for now only facilitators may post, raise hands or message; asking for support still reaches them`;
    case RoomChange.KEEP_OPEN:
      return settings.keepOpenWithoutFacilitator
        ? `${by} set the room to stay open when no facilitator is here`
        : `${by} set the room to pause itself when no facilitator is here`;
    default:
      return `${by} changed the room`;
  }
}

export function roundText(update: RoundUpdated, nameFor: (id: bigint) => string): string {
  const round = update.round;
  const next = round?.active ? ` ${nameFor(round.speakerMemberId)}'s turn.` : "";
  const previous = nameFor(update.previousSpeakerMemberId);
  const over = round?.active ? next : " The round is over.";
  switch (update.change) {
    case RoundChange.STARTED:
      return `${nameOf(update.by)} started a round: ${(round?.order ?? []).map(nameFor).join(", ")}.${next}`;
    case RoundChange.FINISHED:
      return `${previous} finished.${over}`;
    case RoundChange.PASSED:
      return `${previous} passed.${over}`;
    case RoundChange.SKIPPED:
      return `${previous} was skipped.${over}`;
    case RoundChange.ENDED:
      return "The round is over.";
    default:
      return `The round changed.${next}`;
  }
}

export function leftText(left: MemberLeft): string {
  const who = nameOf(left.member);
  switch (left.reason) {
    case LeaveReason.DISCONNECTED:
      return `${who} disconnected`;
    case LeaveReason.REMOVED:
      return `${who} was removed by ${nameOf(left.by)}${withNote(left.note)}`;
    case LeaveReason.BANNED:
      return `${who} was banned by ${nameOf(left.by)}${withNote(left.note)}`;
    default:
      return `${who} left`;
  }
}

// What someone who asked for support is told the request reached: exactly
// what the server says, never more.
export function supportOutcomeText(outcome: SupportOutcome): string {
  const n = outcome.facilitatorsPresent;
  if (n > 0) {
    return `Your request for support went to the ${
      n === 1 ? "facilitator" : `${n} facilitators`
    } here, and to no one else. You will see when it has been seen.`;
  }
  return "No facilitator is in this room right now, so no one has seen your request yet. It stays open, and the facilitators will see it when they return.";
}

export function yourAlertEscalatedText(escalated: YourAlertEscalated): string {
  const n = escalated.operatorsReached;
  if (n === 0 && !escalated.onCallNotified) {
    return "No one from the service is connected right now either. Your request stays open for the facilitators, and the service's operators see it as soon as one signs in.";
  }
  const parts: string[] = [];
  if (n > 0) parts.push(`has gone to ${n === 1 ? "an operator" : `${n} operators`} of the service`);
  if (escalated.onCallNotified) parts.push("is being sent to the service's on-call team");
  return `Your request for support ${parts.join(", and ")}.`;
}

export function escalationReasonText(reason: EscalationReason): string {
  return reason === EscalationReason.NO_FACILITATOR
    ? "no facilitator was in the room"
    : "nobody acknowledged it in time";
}

// A refusal from the server as a person reads it: without the protocol's
// "join:" or "hello:" in front, starting with a capital.
export function refusalText(message: string): string {
  const plain = message.replace(/^(hello|join): /, "");
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}
