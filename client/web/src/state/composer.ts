// Whether you may post now, and if not, why, in words: the same rules the
// server applies (server/core/policy.cpp authorize_post, slow mode in
// Room::post), so the composer can say why it is disabled before anyone is
// refused. The server still decides.
import { Action, Role } from "../protocol";
import type { RoomState } from "./room";
import { durationText } from "./words";

export type ComposerState =
  | { open: true; slowModeWaitMs?: undefined }
  | { open: false; why: string; slowModeWaitMs?: number };

export function composerState(
  room: RoomState,
  nowMs: number,
  lastPostMs: number | undefined,
): ComposerState {
  if (room.ended) return { open: false, why: "The session has ended." };
  const you = room.you();
  if (!you) return { open: false, why: "You are not in the room." };
  if (!room.may(Action.SEND_MESSAGE)) {
    return {
      open: false,
      why:
        you.role === Role.OBSERVER
          ? "You are here to listen: observers do not post."
          : "Your role may not post in this room.",
    };
  }
  if (room.agreementPending()) {
    return { open: false, why: "Accept the group agreement above to take part." };
  }
  if (you.muted) {
    const until = Number(you.mutedUntilUnixMs);
    return {
      open: false,
      why:
        until > 0
          ? `A facilitator muted you. You can write again in ${durationText(until - nowMs)}.`
          : "A facilitator muted you until they unmute you.",
    };
  }
  const facilitates = you.role >= Role.CO_FACILITATOR;
  if (room.settings?.paused && !facilitates) {
    return {
      open: false,
      why: "The room is paused. Asking for support still reaches the facilitators.",
    };
  }
  if (facilitates) return { open: true };
  if (room.round?.active) {
    if (room.round.speakerMemberId === you.memberId) return { open: true };
    return {
      open: false,
      why: `A check-in round is running: it is ${room.nameOf(room.round.speakerMemberId)}'s turn.`,
    };
  }
  if (room.settings?.moderated && !you.hasFloor) {
    return {
      open: false,
      why: you.handRaised
        ? "The room is moderated: your hand is up; wait for the floor."
        : "The room is moderated: raise your hand and wait for the floor.",
    };
  }
  const slow = room.settings?.slowModeSeconds ?? 0;
  if (slow > 0 && lastPostMs !== undefined) {
    const waitMs = lastPostMs + slow * 1000 - nowMs;
    if (waitMs > 0) {
      return {
        open: false,
        why: `Slow mode: you can post again in ${durationText(waitMs)}.`,
        slowModeWaitMs: waitMs,
      };
    }
  }
  return { open: true };
}
