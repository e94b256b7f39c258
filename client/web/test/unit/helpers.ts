// Builders for protocol messages in unit tests.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  MemberSchema,
  RoomEventSchema,
  RoomSettingsSchema,
  RoomSnapshotSchema,
  Role,
  Action,
  create,
  type Member,
  type RoomEvent,
} from "../../src/protocol";

export function member(id: number, name: string, role = Role.PARTICIPANT): Member {
  return create(MemberSchema, { memberId: BigInt(id), displayName: name, role });
}

export const settings = (overrides: Record<string, unknown> = {}) =>
  create(RoomSettingsSchema, {
    title: "Tuesday",
    permissions: [
      { action: Action.SEND_MESSAGE, minRole: Role.PARTICIPANT },
      { action: Action.RAISE_HAND, minRole: Role.PARTICIPANT },
      { action: Action.MUTE, minRole: Role.CO_FACILITATOR },
      { action: Action.REDACT, minRole: Role.CO_FACILITATOR },
    ],
    ...overrides,
  });

export function snapshot(options: {
  you: Member;
  members: Member[];
  lastSeq?: number;
  events?: RoomEvent[];
  settings?: ReturnType<typeof settings>;
}) {
  return create(RoomSnapshotSchema, {
    room: { roomId: "r", title: "Tuesday" },
    members: options.members,
    yourMemberId: options.you.memberId,
    lastSeq: BigInt(options.lastSeq ?? 0),
    recentEvents: options.events ?? [],
    settings: options.settings ?? settings(),
  });
}

export function posted(seq: number, sender: Member, text: string, clientMessageId = ""): RoomEvent {
  return create(RoomEventSchema, {
    roomId: "r",
    seq: BigInt(seq),
    serverTimeUnixMs: BigInt(1_700_000_000_000 + seq),
    kind: { case: "messagePosted", value: { sender, text, clientMessageId } },
  });
}

export function event(
  seq: number,
  kind: NonNullable<MessageInitShape<typeof RoomEventSchema>["kind"]>,
): RoomEvent {
  return create(RoomEventSchema, {
    roomId: "r",
    seq: BigInt(seq),
    serverTimeUnixMs: BigInt(1_700_000_000_000 + seq),
    kind,
  });
}
