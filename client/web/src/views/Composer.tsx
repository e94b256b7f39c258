// Where you write. When you may not post, it says why (muted and for how
// long, not your turn, moderated, slow mode counting down, paused) instead of
// just greying out. While the connection is away you can still write: what
// you send then goes once it is back, once.
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../session";
import { composerState } from "../state/composer";
import type { Act } from "./RoomView";

export function Composer({ session }: { session: Session; act: Act }) {
  const room = session.room;
  const [text, setText] = useState("");
  const [warn, setWarn] = useState(false);
  const [warning, setWarning] = useState("");
  const [now, setNow] = useState(Date.now());
  const state = composerState(room, now, session.lastPostMs);
  const counting = !state.open && (state.slowModeWaitMs !== undefined || !!room.you()?.muted);

  // Count down (slow mode, a timed mute) once a second, only while it matters.
  useEffect(() => {
    if (!counting) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [counting]);
  useEffect(() => setNow(Date.now()), [session.lastPostMs, room.you()?.muted]);

  const maxBytes = session.limits()?.maxTextBytes ?? 4000;
  const send = () => {
    const words = text.trim();
    if (!words || !state.open) return;
    session.post(words, warn ? warning.trim() : "");
    setText("");
    setWarn(false);
    setWarning("");
  };

  return (
    <form
      class="composer"
      aria-label="Write a message"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {!state.open ? (
        <p id="composer-why" class="composer-why" role="status">
          {state.why}
        </p>
      ) : null}
      <label for="message" class="visually-hidden">
        Message
      </label>
      <textarea
        id="message"
        rows={2}
        value={text}
        maxLength={maxBytes}
        disabled={!state.open}
        aria-describedby={!state.open ? "composer-why" : "composer-hint"}
        placeholder={state.open ? "Write a message" : ""}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <p id="composer-hint" class="visually-hidden">
        Enter sends; Shift and Enter starts a new line.
      </p>
      <div class="composer-row">
        <label class="check">
          <input
            type="checkbox"
            checked={warn}
            disabled={!state.open}
            onChange={(e) => setWarn((e.target as HTMLInputElement).checked)}
          />{" "}
          Add a content warning
        </label>
        {warn ? (
          <>
            <label for="cw" class="visually-hidden">
              Content warning
            </label>
            <input
              id="cw"
              class="cw-input"
              placeholder="e.g. self-harm"
              value={warning}
              maxLength={session.limits()?.maxContentWarningBytes ?? 64}
              onInput={(e) => setWarning((e.target as HTMLInputElement).value)}
            />
          </>
        ) : null}
        <button type="submit" class="primary" disabled={!state.open || !text.trim()}>
          Send
        </button>
      </div>
    </form>
  );
}
