// A browser's picture of one joined room, built from the snapshot the server
// sends on join and every event after it: members, settings, hands, the round,
// the conversation, and what only facilitators see. Pure: no sockets, no DOM;
// the same rules as client/lib's RoomView (duplicates and gaps by seq).
import {
  Action,
  Role,
  RoomChange,
  type Invite,
  type Member,
  type PrivateEvent,
  type Report,
  type RoomEvent,
  type RoomInfo,
  type RoomSettings,
  type RoomSnapshot,
  type Round,
  type SupportAlert,
  type WaitingMember,
} from "../protocol";
import {
  escalationReasonText,
  leftText,
  memberUpdateText,
  reportOutcomeWord,
  roomUpdateText,
  roundText,
  yourAlertEscalatedText,
} from "./words";

// One line of the conversation as the app shows it.
export type Line =
  | {
      kind: "message";
      key: string;
      seq: bigint;
      atMs: number;
      sender: Member;
      text: string;
      contentWarning: string;
      redacted: boolean;
      clientMessageId: string;
    }
  | { kind: "notice"; key: string; seq: bigint; atMs: number; text: string }
  // Seen by you alone (direct messages, what your support request reached,
  // what facilitators are told privately).
  | { kind: "private"; key: string; atMs: number; text: string; from?: string; alert?: boolean };

export interface PendingMessage {
  clientMessageId: string;
  text: string;
  contentWarning: string;
  // Why the server refused it; unset while it is on its way.
  refused?: string;
}

export type Applied = "applied" | "duplicate" | "gap";

// The conversation kept in memory, at most; older lines drop off the top.
export const kLinesKept = 1000;

export class RoomState {
  info: RoomInfo | undefined;
  settings: RoomSettings | undefined;
  lastSeq = 0n;
  yourMemberId = 0n;
  members = new Map<bigint, Member>();
  handQueue: bigint[] = [];
  round: Round | undefined;
  pinned = new Set<bigint>();
  waiting: WaitingMember[] = [];
  openAlerts = new Map<bigint, SupportAlert>();
  yourOpenAlerts = new Map<bigint, SupportAlert>();
  openReports = new Map<bigint, Report>();
  ignored = new Set<bigint>();
  // Facilitators: the room's open invite links.
  invites = new Map<bigint, Invite>();
  identities = new Map<bigint, string>();
  lines: Line[] = [];
  // Your messages not yet in the conversation: on their way, or refused.
  pending: PendingMessage[] = [];
  ended = false;
  // Names of members who left, for lines that mention them later.
  private names = new Map<bigint, string>();
  private privateCount = 0;

  constructor(readonly roomId: string) {}

  // Starts over from a snapshot (a join, or a resume the server could not
  // serve from history): everything is replaced, the conversation included.
  // `resumed`: the snapshot's events are exactly those after our last seq,
  // so the conversation so far is kept and they are added to it.
  applySnapshot(snapshot: RoomSnapshot, resumed = false): void {
    const after = resumed ? this.lastSeq : 0n;
    this.info = snapshot.room;
    this.settings = snapshot.settings;
    this.lastSeq = 0n;
    this.yourMemberId = snapshot.yourMemberId;
    this.members = new Map(snapshot.members.map((m) => [m.memberId, m]));
    for (const m of snapshot.members) this.names.set(m.memberId, m.displayName);
    this.handQueue = [...snapshot.handQueue];
    this.round = snapshot.round;
    this.pinned = new Set(snapshot.pinnedSeqs);
    this.waiting = [...snapshot.waiting];
    this.openAlerts = new Map(snapshot.openAlerts.map((a) => [a.alertId, a]));
    this.yourOpenAlerts = new Map(snapshot.yourOpenAlerts.map((a) => [a.alertId, a]));
    this.openReports = new Map(snapshot.openReports.map((r) => [r.reportId, r]));
    this.ignored = new Set(snapshot.ignoredMemberIds);
    this.invites = new Map(snapshot.invites.map((i) => [i.inviteId, i]));
    this.identities = new Map(snapshot.identities.map((i) => [i.memberId, i.accountId]));
    if (!resumed) this.lines = this.lines.filter((line) => line.kind === "private");
    this.ended = false;
    for (const event of snapshot.recentEvents) {
      if (event.seq > after) this.record(event);
    }
    this.lastSeq = snapshot.lastSeq > after ? snapshot.lastSeq : after;
  }

  // One room event, in seq order: a duplicate (seq at or below the last) is
  // ignored; a gap is applied and reported so the caller can re-sync.
  applyEvent(event: RoomEvent): Applied {
    if (event.seq <= this.lastSeq) return "duplicate";
    const gap = event.seq !== this.lastSeq + 1n;
    this.lastSeq = event.seq;
    const kind = event.kind;
    switch (kind.case) {
      case "memberJoined": {
        const member = kind.value.member;
        if (member) {
          this.members.set(member.memberId, member);
          this.names.set(member.memberId, member.displayName);
        }
        break;
      }
      case "memberLeft": {
        const id = kind.value.member?.memberId ?? 0n;
        this.members.delete(id);
        this.identities.delete(id);
        this.removeHand(id);
        break;
      }
      case "memberUpdated":
        for (const member of kind.value.members) {
          this.members.set(member.memberId, member);
          this.names.set(member.memberId, member.displayName);
          if (member.handRaised) {
            if (!this.handQueue.includes(member.memberId)) this.handQueue.push(member.memberId);
          } else {
            this.removeHand(member.memberId);
          }
        }
        break;
      case "roomUpdated":
        this.settings = kind.value.settings;
        if (kind.value.change === RoomChange.AGREEMENT) {
          // As on the server: everyone accepts a new agreement again, except
          // those who can change it.
          for (const member of this.members.values()) {
            member.agreementAccepted = member.role >= Role.CO_FACILITATOR;
          }
        }
        if (this.info && this.settings) {
          this.info.title = this.settings.title;
          this.info.locked = this.settings.locked;
        }
        break;
      case "roundUpdated":
        this.round = kind.value.round;
        break;
      case "messagePinned":
        if (kind.value.pinned) this.pinned.add(kind.value.seq);
        else this.pinned.delete(kind.value.seq);
        break;
      case "sessionEnded":
        this.members.clear();
        this.handQueue = [];
        this.round = undefined;
        this.waiting = [];
        this.openAlerts.clear();
        this.openReports.clear();
        this.ended = true;
        break;
      default:
        break;
    }
    if (this.info) this.info.memberCount = this.members.size;
    this.record(event);
    return gap ? "gap" : "applied";
  }

  applyPrivate(event: PrivateEvent): void {
    const kind = event.kind;
    const atMs = Number(event.serverTimeUnixMs);
    switch (kind.case) {
      case "waitingRoom":
        this.waiting = [...kind.value.waiting];
        break;
      case "supportAlert": {
        const alert = kind.value;
        this.openAlerts.set(alert.alertId, alert);
        this.say(
          atMs,
          `${alert.from?.displayName ?? "Someone"} asked for support${alert.text ? `: ${alert.text}` : ""}`,
          true,
        );
        break;
      }
      case "supportAcknowledged": {
        const alert = this.openAlerts.get(kind.value.alertId);
        if (alert) {
          alert.acknowledgedBy = kind.value.by;
          alert.acknowledgedAtUnixMs = event.serverTimeUnixMs;
        }
        break;
      }
      case "supportEscalated": {
        const escalated = kind.value.alert;
        const alert = escalated && this.openAlerts.get(escalated.alertId);
        if (alert && escalated) {
          alert.escalatedAtUnixMs = escalated.escalatedAtUnixMs;
          alert.escalationReason = kind.value.reason;
        }
        if (escalated) {
          this.say(
            atMs,
            `Support request from ${escalated.from?.displayName ?? "someone"} went to the service's operators: ${escalationReasonText(kind.value.reason)}`,
            true,
          );
        }
        break;
      }
      case "supportResolved":
        this.openAlerts.delete(kind.value.alertId);
        this.yourOpenAlerts.delete(kind.value.alertId);
        break;
      case "yourAlertAcknowledged": {
        const alert = this.yourOpenAlerts.get(kind.value.alertId);
        if (alert) {
          alert.acknowledgedBy = kind.value.by;
          alert.acknowledgedAtUnixMs = event.serverTimeUnixMs;
        }
        this.say(
          atMs,
          `${kind.value.by?.displayName ?? "A facilitator"} has seen your request for support and will reach out to you.`,
        );
        break;
      }
      case "yourAlertEscalated": {
        const alert = this.yourOpenAlerts.get(kind.value.alertId);
        if (alert) alert.escalatedAtUnixMs = event.serverTimeUnixMs;
        this.say(atMs, yourAlertEscalatedText(kind.value));
        break;
      }
      case "messageReported": {
        const reported = kind.value;
        if (reported.reportId !== 0n) {
          this.openReports.set(reported.reportId, {
            $typeName: "circle.v1.Report",
            reportId: reported.reportId,
            seq: reported.seq,
            by: reported.by,
            note: reported.note,
            reportedAtUnixMs: event.serverTimeUnixMs,
            accountId: "",
          });
        }
        break;
      }
      case "reportResolved":
        this.openReports.delete(kind.value.reportId);
        this.say(
          atMs,
          `${kind.value.by?.displayName ?? "A facilitator"} closed report ${kind.value.reportId} (${reportOutcomeWord(kind.value.outcome)})${kind.value.note ? `: ${kind.value.note}` : ""}`,
        );
        break;
      case "invites":
        this.invites = new Map(kind.value.invites.map((i) => [i.inviteId, i]));
        break;
      case "ignoreList":
        this.ignored = new Set(kind.value.memberIds);
        break;
      case "memberIdentity":
        this.identities.set(kind.value.memberId, kind.value.accountId);
        break;
      case "directMessage": {
        const message = kind.value;
        this.privateCount += 1;
        this.lines.push({
          kind: "private",
          key: `p${this.privateCount}`,
          atMs,
          from: message.from?.displayName ?? "someone",
          text: message.text,
        });
        this.trim();
        break;
      }
      case "question":
        this.say(atMs, `${kind.value.from?.displayName ?? "Someone"} asks: ${kind.value.text}`);
        break;
      default:
        break;
    }
  }

  // Adds a line only you see (what the app or the server told you).
  say(atMs: number, text: string, alert = false): void {
    this.privateCount += 1;
    this.lines.push({ kind: "private", key: `p${this.privateCount}`, atMs, text, alert });
    this.trim();
  }

  addPending(clientMessageId: string, text: string, contentWarning: string): void {
    this.pending.push({ clientMessageId, text, contentWarning });
  }

  // A send the server answered with an error: kept, marked, so the words
  // are not lost.
  refusePending(clientMessageId: string, why: string): void {
    const message = this.pending.find((p) => p.clientMessageId === clientMessageId);
    if (message) message.refused = why;
  }

  dismissPending(clientMessageId: string): void {
    this.pending = this.pending.filter((p) => p.clientMessageId !== clientMessageId);
  }

  you(): Member | undefined {
    return this.members.get(this.yourMemberId);
  }

  yourRole(): Role {
    return this.you()?.role ?? Role.UNSPECIFIED;
  }

  youFacilitate(): boolean {
    return this.yourRole() >= Role.CO_FACILITATOR;
  }

  requiredRole(action: Action): Role {
    const permission = this.settings?.permissions.find((p) => p.action === action);
    return permission?.minRole ?? Role.FACILITATOR;
  }

  may(action: Action): boolean {
    const you = this.you();
    return you !== undefined && you.role >= this.requiredRole(action);
  }

  // Whether you may act on `member` at all: only on those strictly below you.
  outranks(member: Member): boolean {
    return this.yourRole() > member.role;
  }

  nameOf(memberId: bigint): string {
    return this.members.get(memberId)?.displayName ?? this.names.get(memberId) ?? "someone";
  }

  // A message you chose not to see: posted by someone you ignore (never a
  // facilitator's).
  hides(line: Line): boolean {
    return (
      line.kind === "message" &&
      this.ignored.has(line.sender.memberId) &&
      line.sender.role < Role.CO_FACILITATOR
    );
  }

  agreementPending(): boolean {
    const you = this.you();
    return !!this.settings?.agreement && !!you && !you.agreementAccepted;
  }

  private removeHand(id: bigint): void {
    this.handQueue = this.handQueue.filter((h) => h !== id);
  }

  private findMessage(seq: bigint): Extract<Line, { kind: "message" }> | undefined {
    for (let i = this.lines.length - 1; i >= 0; i -= 1) {
      const line = this.lines[i]!;
      if (line.kind === "message" && line.seq === seq) return line;
      if (line.kind !== "private" && line.seq < seq) return undefined;
    }
    return undefined;
  }

  // The line a room event adds to the conversation, if any.
  private record(event: RoomEvent): void {
    const atMs = Number(event.serverTimeUnixMs);
    const seq = event.seq;
    const key = `s${seq}`;
    const notice = (text: string) => this.lines.push({ kind: "notice", key, seq, atMs, text });
    const kind = event.kind;
    switch (kind.case) {
      case "messagePosted": {
        const posted = kind.value;
        if (!posted.sender) return;
        this.names.set(posted.sender.memberId, posted.sender.displayName);
        if (posted.clientMessageId) {
          this.pending = this.pending.filter((p) => p.clientMessageId !== posted.clientMessageId);
        }
        this.lines.push({
          kind: "message",
          key,
          seq,
          atMs,
          sender: posted.sender,
          text: posted.text,
          contentWarning: posted.contentWarning,
          redacted: posted.text === "",
          clientMessageId: posted.clientMessageId,
        });
        break;
      }
      case "memberJoined":
        notice(`${kind.value.member?.displayName ?? "Someone"} joined`);
        break;
      case "memberLeft":
        notice(leftText(kind.value));
        break;
      case "memberUpdated":
        notice(memberUpdateText(kind.value, atMs, this.handQueue.length));
        break;
      case "roomUpdated":
        notice(roomUpdateText(kind.value));
        break;
      case "messageRedacted": {
        const message = this.findMessage(kind.value.seq);
        if (message) {
          message.text = "";
          message.contentWarning = "";
          message.redacted = true;
        }
        notice(`${kind.value.by?.displayName ?? "A facilitator"} removed a message`);
        break;
      }
      case "contentWarningSet": {
        const message = this.findMessage(kind.value.seq);
        if (message) message.contentWarning = kind.value.contentWarning;
        break;
      }
      case "messagePinned":
        notice(
          `${kind.value.by?.displayName ?? "A facilitator"} ${kind.value.pinned ? "pinned" : "unpinned"} a message`,
        );
        break;
      case "roundUpdated":
        notice(roundText(kind.value, (id) => this.nameOf(id)));
        break;
      case "sessionEnded":
        notice(
          `${kind.value.by?.displayName ?? "The facilitator"} ended the session${kind.value.note ? `: ${kind.value.note}` : ""}`,
        );
        break;
      default:
        return;
    }
    this.trim();
  }

  private trim(): void {
    if (this.lines.length > kLinesKept) this.lines.splice(0, this.lines.length - kLinesKept);
  }

  // The message with this seq, if still kept (pins, reports, the composer's reply).
  message(seq: bigint): Extract<Line, { kind: "message" }> | undefined {
    return this.findMessage(seq);
  }
}
