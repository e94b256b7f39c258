import { describe, expect, it } from "vitest";
import { MemberChange, PrivateEventSchema, Role, RoomChange, create } from "../../src/protocol";
import { RoomState } from "../../src/state/room";
import { event, member, posted, settings, snapshot } from "./helpers";

const alex = member(1, "Alex", Role.FACILITATOR);
const sam = member(2, "Sam");
const kim = member(3, "Kim");

function joined(you = sam) {
  const room = new RoomState("r");
  room.applySnapshot(
    snapshot({ you, members: [alex, sam, kim], lastSeq: 2, events: [posted(2, alex, "welcome")] }),
  );
  return room;
}

describe("RoomState", () => {
  it("shows the snapshot's members and recent messages", () => {
    const room = joined();
    expect(room.members.size).toBe(3);
    expect(room.you()?.displayName).toBe("Sam");
    expect(room.lines.map((l) => (l.kind === "message" ? l.text : ""))).toEqual(["welcome"]);
    expect(room.lastSeq).toBe(2n);
  });

  it("ignores duplicates and reports a gap", () => {
    const room = joined();
    expect(room.applyEvent(posted(2, alex, "again"))).toBe("duplicate");
    expect(room.applyEvent(posted(3, kim, "hi"))).toBe("applied");
    expect(room.applyEvent(posted(5, kim, "later"))).toBe("gap");
    expect(room.lines.filter((l) => l.kind === "message")).toHaveLength(3);
  });

  it("keeps the conversation on a resumed join and adds only what was missed", () => {
    const room = joined();
    room.applyEvent(posted(3, kim, "before the drop"));
    room.applySnapshot(
      snapshot({
        you: sam,
        members: [alex, sam, kim],
        lastSeq: 5,
        events: [posted(4, alex, "missed 1"), posted(5, kim, "missed 2")],
      }),
      true,
    );
    const texts = room.lines.flatMap((l) => (l.kind === "message" ? [l.text] : []));
    expect(texts).toEqual(["welcome", "before the drop", "missed 1", "missed 2"]);
    expect(room.lastSeq).toBe(5n);
  });

  it("starts the conversation over from a fresh snapshot", () => {
    const room = joined();
    room.applySnapshot(
      snapshot({ you: sam, members: [alex, sam], lastSeq: 90, events: [posted(90, alex, "now")] }),
    );
    const texts = room.lines.flatMap((l) => (l.kind === "message" ? [l.text] : []));
    expect(texts).toEqual(["now"]);
  });

  it("removes a pending message when its own event arrives, once", () => {
    const room = joined();
    room.addPending("c1", "typed offline", "");
    expect(room.pending).toHaveLength(1);
    room.applyEvent(posted(3, sam, "typed offline", "c1"));
    expect(room.pending).toHaveLength(0);
    room.applyEvent(posted(3, sam, "typed offline", "c1"));
    expect(room.lines.filter((l) => l.kind === "message")).toHaveLength(2);
  });

  it("keeps a refused message with the reason", () => {
    const room = joined();
    room.addPending("c1", "words", "");
    room.refusePending("c1", "you are muted");
    expect(room.pending[0]?.refused).toBe("you are muted");
  });

  it("blanks a redacted message and its warning", () => {
    const room = joined();
    room.applyEvent(posted(3, kim, "something hard"));
    room.applyEvent(
      event(4, { case: "contentWarningSet", value: { seq: 3n, contentWarning: "self-harm" } }),
    );
    expect(room.message(3n)?.contentWarning).toBe("self-harm");
    room.applyEvent(event(5, { case: "messageRedacted", value: { seq: 3n, by: alex } }));
    const message = room.message(3n)!;
    expect(message.redacted).toBe(true);
    expect(message.text).toBe("");
    expect(message.contentWarning).toBe("");
  });

  it("keeps the hand queue in order", () => {
    const room = joined();
    const raised = (m: typeof sam) => ({ ...m, handRaised: true });
    room.applyEvent(
      event(3, {
        case: "memberUpdated",
        value: { members: [raised(kim)], change: MemberChange.HAND_RAISED },
      }),
    );
    room.applyEvent(
      event(4, {
        case: "memberUpdated",
        value: { members: [raised(sam)], change: MemberChange.HAND_RAISED },
      }),
    );
    expect(room.handQueue).toEqual([3n, 2n]);
    room.applyEvent(
      event(5, {
        case: "memberUpdated",
        value: { members: [kim], change: MemberChange.HAND_LOWERED },
      }),
    );
    expect(room.handQueue).toEqual([2n]);
  });

  it("asks everyone but facilitators to accept a changed agreement", () => {
    const room = joined();
    room.applyEvent(
      event(3, {
        case: "roomUpdated",
        value: {
          settings: settings({ agreement: "Be kind" }),
          change: RoomChange.AGREEMENT,
          by: alex,
        },
      }),
    );
    expect(room.agreementPending()).toBe(true);
    expect(room.members.get(1n)?.agreementAccepted).toBe(true);
  });

  it("hides messages of someone you ignore, never a facilitator's", () => {
    const room = joined();
    room.applyPrivate(
      create(PrivateEventSchema, {
        roomId: "r",
        kind: { case: "ignoreList", value: { memberIds: [3n, 1n] } },
      }),
    );
    room.applyEvent(posted(3, kim, "from Kim"));
    room.applyEvent(posted(4, alex, "from Alex"));
    expect(room.hides(room.message(3n)!)).toBe(true);
    expect(room.hides(room.message(4n)!)).toBe(false);
  });

  it("keeps support alerts open until resolved, marking them seen", () => {
    const room = joined(alex);
    room.applyPrivate(
      create(PrivateEventSchema, {
        roomId: "r",
        kind: { case: "supportAlert", value: { alertId: 7n, from: sam, text: "struggling" } },
      }),
    );
    room.applyPrivate(
      create(PrivateEventSchema, {
        roomId: "r",
        serverTimeUnixMs: 5n,
        kind: { case: "supportAcknowledged", value: { alertId: 7n, by: alex } },
      }),
    );
    expect(room.openAlerts.get(7n)?.acknowledgedBy?.displayName).toBe("Alex");
    room.applyPrivate(
      create(PrivateEventSchema, {
        roomId: "r",
        kind: { case: "supportResolved", value: { alertId: 7n, by: alex } },
      }),
    );
    expect(room.openAlerts.size).toBe(0);
  });

  it("says what permissions allow your role", () => {
    expect(joined(sam).youFacilitate()).toBe(false);
    expect(joined(alex).youFacilitate()).toBe(true);
    expect(joined(alex).outranks(sam)).toBe(true);
    expect(joined(sam).outranks(kim)).toBe(false);
  });

  it("keeps at most a bounded conversation", () => {
    const room = joined();
    for (let seq = 3; seq < 1200; seq += 1) room.applyEvent(posted(seq, kim, `m${seq}`));
    expect(room.lines.length).toBeLessThanOrEqual(1000);
    expect(room.lines.at(-1)?.kind === "message" && room.lines.at(-1)).toMatchObject({
      text: "m1199",
    });
  });
});
