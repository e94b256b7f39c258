// What facilitators and co-facilitators run the session with: the waiting
// room, support requests, reports, the round, the room's settings and
// agreement, and the end of the session. Each control shows only when the
// room's permission table lets your role use it; the server decides anyway.
import { useState } from "preact/hooks";
import { Action, ReportOutcome, Role } from "../protocol";
import type { Session } from "../session";
import { escalationReasonText, reportOutcomes } from "../state/words";
import { InviteLinks } from "./InviteLinks";
import type { Act } from "./RoomView";

export function FacilitatorTools({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  return (
    <section class="panel tools" aria-labelledby="tools-title">
      <h2 id="tools-title">Facilitation</h2>
      <Alerts session={session} act={act} />
      {room.may(Action.MANAGE_WAITING_ROOM) ? <WaitingRoom session={session} act={act} /> : null}
      {room.may(Action.INVITE) ? <InviteLinks session={session} act={act} /> : null}
      <Reports session={session} act={act} />
      {room.may(Action.RUN_ROUND) ? <RoundControls session={session} act={act} /> : null}
      <RoomControls session={session} act={act} />
      {room.may(Action.EDIT_ROOM) ? <AgreementEditor session={session} act={act} /> : null}
      {room.may(Action.END_SESSION) ? (
        <div class="tool">
          <button
            type="button"
            class="danger"
            onClick={() => {
              if (window.confirm("End the session for everyone?"))
                void act({ case: "endSession", value: {} });
            }}
          >
            End the session
          </button>
        </div>
      ) : null}
    </section>
  );
}

function Alerts({ session, act }: { session: Session; act: Act }) {
  const alerts = [...session.room.openAlerts.values()];
  const [notes, setNotes] = useState<Record<string, string>>({});
  return (
    <div class="tool" aria-labelledby="alerts-title">
      <h3 id="alerts-title">Support requests ({alerts.length})</h3>
      {alerts.length === 0 ? <p class="quiet">None open.</p> : null}
      <ul class="alerts">
        {alerts.map((alert) => {
          const id = String(alert.alertId);
          return (
            <li key={id} class="alert-item">
              <p>
                <strong>{alert.from?.displayName ?? "Someone"}</strong> asked for support
                {alert.text ? `: “${alert.text}”` : "."}
              </p>
              <p class="alert-state">
                {alert.acknowledgedBy
                  ? `${alert.acknowledgedBy.displayName} is responding.`
                  : "Not yet acknowledged."}
                {alert.escalatedAtUnixMs !== 0n
                  ? ` Gone to the service's operators (${escalationReasonText(alert.escalationReason)}).`
                  : ""}
              </p>
              {alert.acknowledgedBy ? (
                <form
                  class="inline"
                  onSubmit={(event) => {
                    event.preventDefault();
                    void act({
                      case: "resolveSupport",
                      value: { alertId: alert.alertId, note: notes[id] ?? "" },
                    });
                  }}
                >
                  <label for={`resolve-${id}`}>What was done</label>
                  <input
                    id={`resolve-${id}`}
                    value={notes[id] ?? ""}
                    onInput={(e) =>
                      setNotes({ ...notes, [id]: (e.target as HTMLInputElement).value })
                    }
                  />
                  <button type="submit" class="small">
                    Resolve
                  </button>
                </form>
              ) : (
                <button
                  type="button"
                  class="primary small"
                  onClick={() =>
                    void act({ case: "acknowledgeSupport", value: { alertId: alert.alertId } })
                  }
                >
                  I am responding
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function WaitingRoom({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  return (
    <div class="tool">
      <h3>Waiting room ({room.waiting.length})</h3>
      <label class="check">
        <input
          type="checkbox"
          checked={!!room.settings?.waitingRoom}
          onChange={(e) =>
            void act({
              case: "setWaitingRoom",
              value: { enabled: (e.target as HTMLInputElement).checked },
            })
          }
        />{" "}
        New arrivals wait to be let in
      </label>
      <ul class="waiting">
        {room.waiting.map((person) => (
          <li key={String(person.waitingId)}>
            <span>{person.displayName}</span>
            <span class="account"> · account {person.accountId}</span>{" "}
            <button
              type="button"
              class="small primary"
              onClick={() =>
                void act({ case: "admit", value: { waitingId: person.waitingId, admitted: true } })
              }
            >
              Let {person.displayName} in
            </button>{" "}
            <button
              type="button"
              class="small"
              onClick={() =>
                void act({ case: "admit", value: { waitingId: person.waitingId, admitted: false } })
              }
            >
              Deny
            </button>
          </li>
        ))}
      </ul>
      {room.waiting.length > 1 ? (
        <button
          type="button"
          class="small"
          onClick={() => void act({ case: "admitAll", value: {} })}
        >
          Let everyone in
        </button>
      ) : null}
    </div>
  );
}

function Reports({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const reports = [...room.openReports.values()];
  const [outcome, setOutcome] = useState(String(ReportOutcome.NO_ACTION));
  if (reports.length === 0 && !room.may(Action.REDACT)) return null;
  return (
    <div class="tool">
      <h3>Reports ({reports.length})</h3>
      {reports.length === 0 ? <p class="quiet">None open.</p> : null}
      <ul>
        {reports.map((report) => {
          const id = String(report.reportId);
          const message = room.message(report.seq);
          return (
            <li key={id}>
              <p>
                {report.by?.displayName ?? "Someone"} reported{" "}
                {message
                  ? `${message.sender.displayName}'s message “${message.text || "(removed)"}”`
                  : "a message"}
                {report.note ? `: ${report.note}` : ""}
              </p>
              <form
                class="inline"
                onSubmit={(event) => {
                  event.preventDefault();
                  void act({
                    case: "resolveReport",
                    value: {
                      reportId: report.reportId,
                      outcome: Number(outcome) as ReportOutcome,
                      note: "",
                    },
                  });
                }}
              >
                <label for={`outcome-${id}`}>What was done</label>
                <select
                  id={`outcome-${id}`}
                  value={outcome}
                  onChange={(e) => setOutcome((e.target as HTMLSelectElement).value)}
                >
                  {reportOutcomes.map((o) => (
                    <option key={o.outcome} value={String(o.outcome)}>
                      {o.word}
                    </option>
                  ))}
                </select>
                <button type="submit" class="small">
                  Close report
                </button>
              </form>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function RoundControls({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const round = room.round;
  const speakers = [...room.members.values()].filter((m) => m.role === Role.PARTICIPANT);
  const [order, setOrder] = useState<bigint[]>([]);
  const chosen = order.filter((id) => room.members.has(id));
  const remaining = speakers.filter((m) => !chosen.includes(m.memberId));
  if (round?.active) {
    return (
      <div class="tool">
        <h3>Check-in round</h3>
        <p>It is {room.nameOf(round.speakerMemberId)}'s turn.</p>
        <div class="buttons">
          <button
            type="button"
            class="small"
            onClick={() => void act({ case: "skipTurn", value: {} })}
          >
            Skip {room.nameOf(round.speakerMemberId)}
          </button>
          <button
            type="button"
            class="small"
            onClick={() => void act({ case: "endRound", value: {} })}
          >
            End the round
          </button>
        </div>
      </div>
    );
  }
  return (
    <div class="tool">
      <h3>Check-in round</h3>
      <p class="quiet">
        Order: {chosen.length ? chosen.map((id) => room.nameOf(id)).join(", ") : "as listed below"}
      </p>
      <div class="buttons">
        {remaining.map((m) => (
          <button
            type="button"
            class="small"
            key={String(m.memberId)}
            onClick={() => setOrder([...chosen, m.memberId])}
          >
            Add {m.displayName}
          </button>
        ))}
      </div>
      <button
        type="button"
        class="primary small"
        disabled={speakers.length === 0}
        onClick={() => {
          const full = [...chosen, ...remaining.map((m) => m.memberId)];
          void act({ case: "startRound", value: { order: full } });
          setOrder([]);
        }}
      >
        Start a round
      </button>
    </div>
  );
}

function RoomControls({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const settings = room.settings;
  const [slow, setSlow] = useState(String(settings?.slowModeSeconds ?? 0));
  if (!settings) return null;
  const toggle = (label: string, checked: boolean, onChange: (on: boolean) => void) => (
    <label class="check">
      <input
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange((e.target as HTMLInputElement).checked)}
      />{" "}
      {label}
    </label>
  );
  return (
    <div class="tool">
      <h3>The room</h3>
      {room.may(Action.LOCK)
        ? toggle(
            "Locked: no one new can join",
            settings.locked,
            (locked) => void act({ case: "setLocked", value: { locked } }),
          )
        : null}
      {room.may(Action.PAUSE)
        ? toggle(
            "Paused: only facilitators post",
            settings.paused,
            (paused) => void act({ case: "setPaused", value: { paused } }),
          )
        : null}
      {room.may(Action.PAUSE)
        ? toggle(
            "Stay open when no facilitator is here",
            settings.keepOpenWithoutFacilitator,
            (keepOpen) => void act({ case: "setKeepOpen", value: { keepOpen } }),
          )
        : null}
      {room.may(Action.MODERATE)
        ? toggle(
            "Moderated: people speak when given the floor",
            settings.moderated,
            (moderated) => void act({ case: "setModerated", value: { moderated } }),
          )
        : null}
      {room.may(Action.SLOW_MODE) ? (
        <form
          class="inline"
          onSubmit={(event) => {
            event.preventDefault();
            void act({ case: "setSlowMode", value: { seconds: Number(slow) } });
          }}
        >
          <label for="slow-mode">Slow mode</label>
          <select
            id="slow-mode"
            value={slow}
            onChange={(e) => setSlow((e.target as HTMLSelectElement).value)}
          >
            <option value="0">off</option>
            <option value="10">one message every 10 s</option>
            <option value="30">one message every 30 s</option>
            <option value="60">one message a minute</option>
          </select>
          <button type="submit" class="small">
            Set
          </button>
        </form>
      ) : null}
    </div>
  );
}

function AgreementEditor({ session, act }: { session: Session; act: Act }) {
  const current = session.room.settings?.agreement ?? "";
  const [text, setText] = useState(current);
  return (
    <form
      class="tool"
      onSubmit={(event) => {
        event.preventDefault();
        void act({ case: "editRoom", value: { agreement: text.trim() } });
      }}
    >
      <h3>
        <label for="agreement">Group agreement</label>
      </h3>
      <textarea
        id="agreement"
        rows={4}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
      />
      <p class="quiet">Everyone accepts a changed agreement again before they post.</p>
      <button type="submit" class="small" disabled={text.trim() === current}>
        Save the agreement
      </button>
    </form>
  );
}
