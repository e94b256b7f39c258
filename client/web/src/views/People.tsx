// Who is here, with roles, hands and mutes in words (never colour alone);
// your hand; and what you may do about each person: ignore or message them,
// and, for facilitators, everything their role allows.
import { useState } from "preact/hooks";
import { Action, Role, type Member } from "../protocol";
import type { Session } from "../session";
import { durationText, roleName } from "../state/words";
import type { Act } from "./RoomView";

export function People({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const you = room.you();
  const members = [...room.members.values()].sort(
    (a, b) => b.role - a.role || a.displayName.localeCompare(b.displayName),
  );
  return (
    <section class="panel" aria-labelledby="people-title">
      <h2 id="people-title">Here now ({members.length})</h2>
      <Hand session={session} act={act} />
      {room.handQueue.length > 0 ? (
        <p class="hands">
          Hands up, in order: {room.handQueue.map((id) => room.nameOf(id)).join(", ")}
        </p>
      ) : null}
      <ul class="people">
        {members.map((member) => (
          <Person
            key={String(member.memberId)}
            member={member}
            isYou={member.memberId === you?.memberId}
            session={session}
            act={act}
          />
        ))}
      </ul>
    </section>
  );
}

function Hand({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const you = room.you();
  const [question, setQuestion] = useState("");
  if (!you || !room.may(Action.RAISE_HAND) || room.youFacilitate()) return null;
  if (you.handRaised) {
    return (
      <div class="hand">
        <p>Your hand is up.</p>
        <button
          type="button"
          onClick={() => void act({ case: "setHand", value: { raised: false } })}
        >
          Lower my hand
        </button>
      </div>
    );
  }
  return (
    <form
      class="hand"
      onSubmit={(event) => {
        event.preventDefault();
        void act({ case: "setHand", value: { raised: true, question: question.trim() } });
        setQuestion("");
      }}
    >
      <label for="hand-question">Question for the facilitator (optional, private)</label>
      <input
        id="hand-question"
        value={question}
        maxLength={500}
        onInput={(e) => setQuestion((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Raise my hand</button>
    </form>
  );
}

function Person(props: { member: Member; isYou: boolean; session: Session; act: Act }) {
  const { member, isYou, session, act } = props;
  const room = session.room;
  const states: string[] = [];
  if (member.role !== Role.PARTICIPANT) states.push(roleName(member.role));
  if (member.handRaised) states.push("hand up");
  if (member.hasFloor) states.push("has the floor");
  if (member.muted) {
    const until = Number(member.mutedUntilUnixMs);
    states.push(until > 0 ? `muted, ${durationText(until - Date.now())} left` : "muted");
  }
  if (room.ignored.has(member.memberId)) states.push("ignored by you");
  const facilitates = room.youFacilitate();
  if (facilitates && room.settings?.agreement && !member.agreementAccepted) {
    states.push("has not accepted the agreement");
  }
  const account = facilitates ? room.identities.get(member.memberId) : undefined;
  return (
    <li class="person">
      <span class="person-name">
        {member.displayName}
        {isYou ? " (you)" : ""}
      </span>
      {states.length > 0 ? <span class="person-state"> · {states.join(" · ")}</span> : null}
      {account ? <span class="account"> · account {account}</span> : null}
      {!isYou ? <PersonActions member={member} session={session} act={act} /> : null}
    </li>
  );
}

function PersonActions({ member, session, act }: { member: Member; session: Session; act: Act }) {
  const room = session.room;
  const id = member.memberId;
  const [minutes, setMinutes] = useState("10");
  const [role, setRole] = useState(String(Role.CO_FACILITATOR));
  const [dm, setDm] = useState("");
  const over = room.outranks(member);
  const may = (action: Action) => over && room.may(action);
  const ignorable = member.role < Role.CO_FACILITATOR && !room.youFacilitate();
  const mayMessage = room.may(Action.DIRECT_MESSAGE) || member.role >= Role.CO_FACILITATOR;
  const name = member.displayName;
  return (
    <details class="person-actions">
      <summary>
        Options<span class="visually-hidden"> for {name}</span>
      </summary>
      <div class="stack">
        {mayMessage ? (
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              if (!dm.trim()) return;
              void act({ case: "sendDirectMessage", value: { memberId: id, text: dm.trim() } });
              setDm("");
            }}
          >
            <label for={`dm-${id}`}>Private message to {name}</label>
            <input
              id={`dm-${id}`}
              value={dm}
              onInput={(e) => setDm((e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="small">
              Send privately
            </button>
          </form>
        ) : null}
        {ignorable ? (
          <button
            type="button"
            class="small"
            onClick={() =>
              void act({
                case: "setIgnored",
                value: { memberId: id, ignored: !room.ignored.has(id) },
              })
            }
          >
            {room.ignored.has(id) ? `Stop ignoring ${name}` : `Ignore ${name} (only you; not told)`}
          </button>
        ) : null}
        {may(Action.MUTE) ? (
          member.muted ? (
            <button
              type="button"
              class="small"
              onClick={() => void act({ case: "setMuted", value: { memberId: id, muted: false } })}
            >
              Unmute {name}
            </button>
          ) : (
            <form
              class="inline"
              onSubmit={(event) => {
                event.preventDefault();
                void act({
                  case: "setMuted",
                  value: { memberId: id, muted: true, durationSeconds: Number(minutes) * 60 },
                });
              }}
            >
              <label for={`mute-${id}`}>Mute {name} for</label>
              <select
                id={`mute-${id}`}
                value={minutes}
                onChange={(e) => setMinutes((e.target as HTMLSelectElement).value)}
              >
                <option value="5">5 minutes</option>
                <option value="10">10 minutes</option>
                <option value="30">30 minutes</option>
                <option value="60">1 hour</option>
                <option value="0">until unmuted</option>
              </select>
              <button type="submit" class="small">
                Mute
              </button>
            </form>
          )
        ) : null}
        {may(Action.MODERATE) ? (
          <button
            type="button"
            class="small"
            onClick={() =>
              void act({ case: "setFloor", value: { memberId: id, hasFloor: !member.hasFloor } })
            }
          >
            {member.hasFloor ? `Take the floor back from ${name}` : `Give ${name} the floor`}
          </button>
        ) : null}
        {may(Action.REMOVE) ? (
          <button
            type="button"
            class="small"
            onClick={() => {
              const why = window.prompt(
                `Remove ${name} from the room? They may join again. Reason (optional):`,
              );
              if (why !== null) void act({ case: "removeMember", value: { memberId: id } }, why);
            }}
          >
            Remove {name}
          </button>
        ) : null}
        {may(Action.BAN) ? (
          <button
            type="button"
            class="small danger"
            onClick={() => {
              const why = window.prompt(
                `Ban ${name}? They cannot join this room again. Reason (optional):`,
              );
              if (why !== null)
                void act({ case: "setBanned", value: { memberId: id, banned: true } }, why);
            }}
          >
            Ban {name}
          </button>
        ) : null}
        {may(Action.PROMOTE) ? (
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              void act({ case: "setRole", value: { memberId: id, role: Number(role) as Role } });
            }}
          >
            <label for={`role-${id}`}>Role of {name}</label>
            <select
              id={`role-${id}`}
              value={role}
              onChange={(e) => setRole((e.target as HTMLSelectElement).value)}
            >
              {[Role.OBSERVER, Role.PARTICIPANT, Role.CO_FACILITATOR]
                .filter((r) => r < room.yourRole())
                .map((r) => (
                  <option value={String(r)} key={r}>
                    {roleName(r)}
                  </option>
                ))}
            </select>
            <button type="submit" class="small">
              Change role
            </button>
          </form>
        ) : null}
        {may(Action.HAND_OVER) ? (
          <button
            type="button"
            class="small"
            onClick={() => {
              if (window.confirm(`Hand facilitation of this room over to ${name}?`))
                void act({ case: "handOver", value: { memberId: id } });
            }}
          >
            Hand over to {name}
          </button>
        ) : null}
      </div>
    </details>
  );
}
