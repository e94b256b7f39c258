import { describe, expect, it } from "vitest";
import { PauseCause, Role, RoundSchema, create } from "../../src/protocol";
import { composerState } from "../../src/state/composer";
import { RoomState } from "../../src/state/room";
import { member, settings, snapshot } from "./helpers";

const now = 1_700_000_000_000;

function room(
  options: { you?: ReturnType<typeof member>; settings?: ReturnType<typeof settings> } = {},
) {
  const you = options.you ?? { ...member(2, "Sam"), agreementAccepted: true };
  const state = new RoomState("r");
  state.applySnapshot(
    snapshot({
      you,
      members: [member(1, "Alex", Role.FACILITATOR), you],
      settings: options.settings,
    }),
  );
  return state;
}

const why = (state: ReturnType<typeof composerState>) => (state.open ? "open" : state.why);

describe("composerState", () => {
  it("is open for a participant in a plain room", () => {
    expect(composerState(room(), now, undefined).open).toBe(true);
  });

  it("says how long a mute lasts", () => {
    const you = { ...member(2, "Sam"), muted: true, mutedUntilUnixMs: BigInt(now + 9 * 60_000) };
    expect(why(composerState(room({ you }), now, undefined))).toMatch(/muted you.*9 min/);
  });

  it("says a mute without an end lasts until unmuted", () => {
    const you = { ...member(2, "Sam"), muted: true };
    expect(why(composerState(room({ you }), now, undefined))).toMatch(/until they unmute you/);
  });

  it("asks for the agreement first", () => {
    const you = { ...member(2, "Sam"), agreementAccepted: false };
    expect(
      why(
        composerState(room({ you, settings: settings({ agreement: "Be kind" }) }), now, undefined),
      ),
    ).toMatch(/agreement/);
  });

  it("names whose turn it is in a round", () => {
    const state = room();
    state.round = create(RoundSchema, { active: true, order: [1n, 2n], speakerMemberId: 1n });
    expect(why(composerState(state, now, undefined))).toMatch(/Alex's turn/);
    state.round.speakerMemberId = 2n;
    expect(composerState(state, now, undefined).open).toBe(true);
  });

  it("explains moderated rooms and the floor", () => {
    expect(
      why(composerState(room({ settings: settings({ moderated: true }) }), now, undefined)),
    ).toMatch(/raise your hand/);
  });

  it("counts slow mode down", () => {
    const state = composerState(
      room({ settings: settings({ slowModeSeconds: 30 }) }),
      now,
      now - 10_000,
    );
    expect(why(state)).toMatch(/20 s/);
    expect(state.slowModeWaitMs).toBe(20_000);
    expect(
      composerState(room({ settings: settings({ slowModeSeconds: 30 }) }), now, now - 31_000).open,
    ).toBe(true);
  });

  it("says the room is paused, and lets facilitators post anyway", () => {
    const paused = settings({ paused: true, pauseCause: PauseCause.FACILITATOR });
    expect(why(composerState(room({ settings: paused }), now, undefined))).toMatch(/paused/);
    const alex = { ...member(1, "Alex", Role.FACILITATOR), agreementAccepted: true };
    expect(composerState(room({ you: alex, settings: paused }), now, undefined).open).toBe(true);
  });

  it("tells observers they listen", () => {
    const you = { ...member(2, "Sam", Role.OBSERVER), agreementAccepted: true };
    expect(why(composerState(room({ you }), now, undefined))).toMatch(/observers/);
  });
});
