// What matters now, above the conversation: the connection coming back, the
// group agreement to accept, the round (on your turn: share or pass), a pause.
import { PauseCause } from "../protocol";
import type { Session } from "../session";
import type { Act } from "./RoomView";

export function Banners({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const status = session.status;
  const round = room.round;
  const yourTurn = session.yourTurn();
  const unsent = session.unacknowledgedSends();
  return (
    <div class="banners">
      {status.state === "reconnecting" || status.state === "rejoining" ? (
        <section class="banner banner-warning" aria-label="Connection">
          <p>
            <strong>Reconnecting…</strong> You will see everything you missed once the connection is
            back.
            {unsent > 0
              ? ` ${unsent} message${unsent === 1 ? "" : "s"} you wrote will be sent then.`
              : ""}
          </p>
        </section>
      ) : null}
      {room.agreementPending() ? (
        <section class="banner banner-agreement" aria-labelledby="agreement-title">
          <h2 id="agreement-title">The group agreement</h2>
          <p class="agreement-text">{room.settings?.agreement}</p>
          <button
            type="button"
            class="primary"
            onClick={() => void act({ case: "acceptAgreement", value: {} })}
          >
            I accept the agreement
          </button>
        </section>
      ) : null}
      {room.settings?.paused ? (
        <section class="banner banner-paused" aria-label="Paused">
          <p>
            <strong>The room is paused.</strong>{" "}
            {room.settings.pauseCause === PauseCause.NO_FACILITATOR
              ? "No facilitator is here right now; it goes on when one returns."
              : "A facilitator paused it for now."}{" "}
            Asking for support still reaches the facilitators.
          </p>
        </section>
      ) : null}
      {round?.active ? (
        <section class="banner banner-round" aria-label="Check-in round">
          <p>
            <strong>Check-in round:</strong>{" "}
            {yourTurn ? "it is your turn." : `it is ${room.nameOf(round.speakerMemberId)}'s turn.`}{" "}
            <span class="round-order">
              Order: {round.order.map((id) => room.nameOf(id)).join(", ")}
            </span>
          </p>
          {yourTurn ? (
            <div class="buttons">
              <button
                type="button"
                class="primary"
                onClick={() => void act({ case: "endTurn", value: { passed: false } })}
              >
                I have shared
              </button>
              <button
                type="button"
                onClick={() => void act({ case: "endTurn", value: { passed: true } })}
              >
                Pass
              </button>
            </div>
          ) : null}
        </section>
      ) : null}
      {room.ended ? (
        <section class="banner" aria-label="Session ended">
          <p>
            <strong>The session has ended.</strong> Thank you for being here.
          </p>
        </section>
      ) : null}
    </div>
  );
}
