// The conversation: messages and what happened in the room, oldest first,
// then your messages still on their way. Content warnings hide a message's
// words until you ask; messages of people you ignore are left out.
import { useEffect, useRef, useState } from "preact/hooks";
import { Action, Role } from "../protocol";
import type { Session } from "../session";
import type { Line } from "../state/room";
import { roleName } from "../state/words";
import type { Act } from "./RoomView";

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function Conversation({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const list = useRef<HTMLOListElement>(null);
  const [revealed, setRevealed] = useState<Set<string>>(new Set());
  const count = room.lines.length + room.pending.length;

  // Follow the conversation unless the reader scrolled up to read back.
  useEffect(() => {
    const element = list.current;
    if (!element) return;
    const nearBottom = element.scrollHeight - element.scrollTop - element.clientHeight < 200;
    if (nearBottom) element.scrollTop = element.scrollHeight;
  }, [count]);

  const visible = room.lines.filter((line) => !room.hides(line));
  return (
    <ol class="conversation" ref={list} aria-label="Messages" tabIndex={0}>
      {visible.map((line) => (
        <LineView
          key={line.key}
          line={line}
          session={session}
          act={act}
          revealed={revealed.has(line.key)}
          reveal={() => setRevealed(new Set(revealed).add(line.key))}
        />
      ))}
      {room.pending.map((message) => (
        <li key={message.clientMessageId} class="line message mine pending">
          <span class="sender">You</span>{" "}
          {message.contentWarning ? (
            <span class="cw-label">[{message.contentWarning}] </span>
          ) : null}
          <span class="text">{message.text}</span>{" "}
          {message.refused ? (
            <span class="refused">
              Not sent: {message.refused}{" "}
              <button
                type="button"
                class="small"
                onClick={() => {
                  room.dismissPending(message.clientMessageId);
                  setRevealed(new Set(revealed));
                }}
              >
                Dismiss
              </button>
            </span>
          ) : (
            <span class="state">sending…</span>
          )}
        </li>
      ))}
    </ol>
  );
}

function LineView(props: {
  line: Line;
  session: Session;
  act: Act;
  revealed: boolean;
  reveal: () => void;
}) {
  const { line, session, act } = props;
  const room = session.room;
  if (line.kind === "notice") {
    return (
      <li class="line notice">
        <time>{clock(line.atMs)}</time> {line.text}
      </li>
    );
  }
  if (line.kind === "private") {
    return (
      <li class={`line private${line.alert ? " alert" : ""}`}>
        <time>{clock(line.atMs)}</time>{" "}
        <span class="private-label">
          {line.from ? `Private from ${line.from}:` : "Only you see this:"}
        </span>{" "}
        <span class="text">{line.text}</span>
      </li>
    );
  }
  const mine = line.sender.memberId === room.yourMemberId;
  const role = line.sender.role;
  const pinned = room.pinned.has(line.seq);
  const warned = line.contentWarning !== "" && !line.redacted;
  const showText = !warned || props.revealed || mine;
  return (
    <li
      class={`line message${mine ? " mine" : ""}${pinned ? " pinned" : ""}`}
      data-seq={String(line.seq)}
    >
      <div class="meta">
        <span class="sender">{mine ? "You" : line.sender.displayName}</span>
        {role >= Role.CO_FACILITATOR ? <span class="role-tag">{roleName(role)}</span> : null}
        <time>{clock(line.atMs)}</time>
        {pinned ? <span class="pin-tag">Pinned</span> : null}
      </div>
      {line.redacted ? (
        <p class="text removed">This message was removed by a facilitator.</p>
      ) : (
        <>
          {warned ? (
            <p class="cw">
              <span class="cw-label">Content warning: {line.contentWarning}</span>{" "}
              {showText ? null : (
                <button type="button" class="small" onClick={props.reveal}>
                  Show message
                </button>
              )}
            </p>
          ) : null}
          {showText ? <p class="text">{line.text}</p> : null}
        </>
      )}
      {line.redacted ? null : (
        <MessageActions session={session} act={act} seq={line.seq} mine={mine} pinned={pinned} />
      )}
    </li>
  );
}

function MessageActions(props: {
  session: Session;
  act: Act;
  seq: bigint;
  mine: boolean;
  pinned: boolean;
}) {
  const { session, act, seq, mine, pinned } = props;
  const room = session.room;
  const mayRedact = room.may(Action.REDACT);
  const mayPin = room.may(Action.PIN);
  if (mine && !mayRedact && !mayPin) return null;
  return (
    <details class="message-actions">
      <summary>
        Actions<span class="visually-hidden"> for this message</span>
      </summary>
      <div class="buttons">
        {!mine ? (
          <button
            type="button"
            class="small"
            onClick={() => {
              const note = window.prompt("Why are you reporting this message? (optional)") ?? null;
              if (note !== null) void act({ case: "reportMessage", value: { seq } }, note);
            }}
          >
            Report
          </button>
        ) : null}
        {mayRedact ? (
          <button
            type="button"
            class="small"
            onClick={() => void act({ case: "redactMessage", value: { seq } })}
          >
            Remove for everyone
          </button>
        ) : null}
        {mayPin ? (
          <button
            type="button"
            class="small"
            onClick={() => void act({ case: "setPinned", value: { seq, pinned: !pinned } })}
          >
            {pinned ? "Unpin" : "Pin"}
          </button>
        ) : null}
        {mayRedact ? (
          <button
            type="button"
            class="small"
            onClick={() => {
              const label = window.prompt("Content warning (empty removes it)");
              if (label !== null)
                void act({ case: "setContentWarning", value: { seq, contentWarning: label } });
            }}
          >
            Content warning
          </button>
        ) : null}
      </div>
    </details>
  );
}
