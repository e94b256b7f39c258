import { describe, expect, it } from "vitest";
import { SendPacer, backoffDelay, worthReconnecting } from "../../src/net/backoff";
import { inviteRoom, parseJoinLink } from "../../src/state/link";
import { durationText, refusalText } from "../../src/state/words";

describe("backoffDelay", () => {
  it("doubles up to the cap, between half and all of it", () => {
    const policy = { initialMs: 500, maxMs: 4000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(250);
    expect(backoffDelay(1, policy, () => 1)).toBe(500);
    expect(backoffDelay(3, policy, () => 1)).toBe(2000);
    expect(backoffDelay(10, policy, () => 1)).toBe(4000);
    expect(backoffDelay(10, policy, () => 0)).toBe(2000);
  });
});

describe("worthReconnecting", () => {
  it("reconnects after drops and restarts, not after refusals", () => {
    expect(worthReconnecting(1006, "")).toBe(true);
    expect(worthReconnecting(1012, "")).toBe(true);
    expect(worthReconnecting(1008, "too slow")).toBe(true);
    expect(worthReconnecting(1008, "token expired")).toBe(false);
    expect(worthReconnecting(1000, "")).toBe(false);
  });
});

describe("SendPacer", () => {
  it("lets half the burst go at once, then paces", () => {
    const pacer = new SendPacer();
    pacer.setLimits(20, 4, 0);
    expect(pacer.take(0)).toBe(0);
    expect(pacer.take(0)).toBe(0);
    expect(pacer.take(0)).toBeGreaterThan(0);
    expect(pacer.take(100)).toBe(0);
  });
});

describe("parseJoinLink", () => {
  it("reads a room and token from the fragment", () => {
    expect(parseJoinLink("#room=tue&token=abc.def")).toEqual({
      kind: "token",
      roomId: "tue",
      token: "abc.def",
      open: false,
      title: "",
    });
    expect(parseJoinLink("#room=tue&token=t&open=1&title=Tuesday%20group")).toMatchObject({
      open: true,
      title: "Tuesday group",
    });
    expect(parseJoinLink("")).toEqual({ kind: "none" });
    expect(parseJoinLink("#room=tue")).toEqual({ kind: "none" });
  });
});

describe("durationText", () => {
  it("reads like circle chat", () => {
    expect(durationText(45_000)).toBe("45 s");
    expect(durationText(10 * 60_000)).toBe("10 min");
    expect(durationText(90 * 60_000)).toBe("1 h 30 min");
  });
});

describe("invite links", () => {
  const payload = btoa(JSON.stringify({ typ: "circle-invite", room: "thursday", iid: "7" }))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
  const token = `eyJhbGciOiJIUzI1NiJ9.${payload}.signature`;

  it("reads the room an invite leads to", () => {
    expect(parseJoinLink(`#invite=${token}`)).toEqual({
      kind: "invite",
      roomId: "thursday",
      invite: token,
    });
    expect(inviteRoom("not-a-token")).toBe("");
    expect(inviteRoom("a.!!!.c")).toBe("");
  });

  it("says a refusal in plain words", () => {
    expect(refusalText("join: this invite link has expired")).toBe("This invite link has expired");
    expect(refusalText("hello: the token has expired")).toBe("The token has expired");
  });
});
