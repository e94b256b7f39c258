// "I need support": a private request to the room's facilitators, with its
// state in words (sent, seen by whom, gone further). What it says is what the
// server said it reached, never more.
import { useState } from "preact/hooks";
import type { Session } from "../session";
import type { Act } from "./RoomView";

export function Support({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  if (room.youFacilitate() || !room.you()) return null;
  const alerts = [...room.yourOpenAlerts.values()];
  return (
    <section class="panel support" aria-labelledby="support-title">
      <h2 id="support-title">Support</h2>
      {alerts.map((alert) => (
        <p class="support-state" key={String(alert.alertId)} role="status">
          {alert.acknowledgedBy
            ? `${alert.acknowledgedBy.displayName} has seen your request and will reach out to you.`
            : alert.escalatedAtUnixMs !== 0n
              ? "Your request is open and has gone to the service's operators too."
              : "Your request is open. You will see here when a facilitator has seen it."}
        </p>
      ))}
      {open ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void act({ case: "requestSupport", value: { text: text.trim() } }).then((why) => {
              if (!why) {
                setOpen(false);
                setText("");
              }
            });
          }}
        >
          <label for="support-text">
            What would help? (optional; only the facilitators see this)
          </label>
          <textarea
            id="support-text"
            rows={3}
            value={text}
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          />
          <div class="buttons">
            <button type="submit" class="primary">
              Ask privately for support
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="support-button" onClick={() => setOpen(true)}>
          I need support
        </button>
      )}
    </section>
  );
}
