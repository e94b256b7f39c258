// The screens: how this visit joins, the join screen, the room, and the
// neutral page "Leave quickly" shows. Leave quickly is on every screen and
// on a keyboard shortcut (Escape twice).
import { useEffect, useState } from "preact/hooks";
import type { JoinLink } from "../state/link";
import { guestKey } from "../net/guest-key";
import { Session } from "../session";
import { RoomView } from "./RoomView";

export const kLeaveQuicklyShortcut = "Escape Escape";

function serverUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/`;
}

export function App({ link }: { link: JoinLink }) {
  const [session, setSession] = useState<Session | undefined>();
  const [gone, setGone] = useState(false);
  const [, setVersion] = useState(0);

  const leaveQuickly = () => {
    session?.leave();
    setSession(undefined);
    setGone(true);
    document.title = "Weather";
    // A neutral page in place of this one, in this tab's history too: Back
    // does not return to the conversation. (The browser's history list may
    // still hold the link that was opened; the README says so.)
    window.location.replace("/neutral.html");
  };

  useEffect(() => {
    let lastEscape = 0;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      const now = performance.now();
      if (now - lastEscape < 800) leaveQuickly();
      lastEscape = now;
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  useEffect(() => {
    if (!session) return;
    const unsubscribe = session.subscribe(() => setVersion((v) => v + 1));
    const offline = () => session.networkLost();
    const online = () => session.networkBack();
    window.addEventListener("offline", offline);
    window.addEventListener("online", online);
    return () => {
      unsubscribe();
      window.removeEventListener("offline", offline);
      window.removeEventListener("online", online);
    };
  }, [session]);

  if (gone) return <NeutralPage />;

  const leave = (
    <button
      type="button"
      class="leave-quickly"
      onClick={leaveQuickly}
      aria-keyshortcuts="Escape Escape"
      title="Leave quickly (press Escape twice)"
    >
      Leave quickly
    </button>
  );

  if (link.kind === "none") {
    return (
      <Page leave={leave} title="Circle">
        <h1>Circle</h1>
        <p>
          To join your group, open the link your group or facilitator sent you. It opens this page
          with everything needed to join.
        </p>
      </Page>
    );
  }

  if (!session) {
    const guest = link.kind === "invite";
    return (
      <Page leave={leave} title="Join your group">
        <JoinForm
          roomId={link.roomId}
          guest={guest}
          onJoin={(name) => {
            const hello =
              link.kind === "invite"
                ? { invite: link.invite, guestKey: guestKey(), displayName: name }
                : { token: link.token, displayName: name };
            const open = link.kind === "token" && link.open ? { title: link.title } : undefined;
            const next = new Session(serverUrl(), link.roomId, hello, open);
            setSession(next);
            void next.start();
          }}
        />
      </Page>
    );
  }

  const phase = session.phase;
  if (phase.screen === "connecting") {
    return (
      <Page leave={leave} title="Joining…">
        <p role="status">Joining the room…</p>
      </Page>
    );
  }
  if (phase.screen === "not-open") {
    return (
      <Page leave={leave} title="Not open yet">
        <h1>The group has not started yet</h1>
        <p role="status">
          The room opens when a facilitator arrives. Keep this page open: it lets you in by itself.
        </p>
      </Page>
    );
  }
  if (phase.screen === "waiting") {
    return (
      <Page leave={leave} title="Waiting room">
        <h1>You are in the waiting room</h1>
        <p role="status">
          A facilitator will let you in soon. You can keep this page open; it lets you in by itself.
        </p>
      </Page>
    );
  }
  if (phase.screen === "refused" || phase.screen === "left") {
    return (
      <Page leave={leave} title="Circle">
        <h1>
          {phase.screen === "left"
            ? "You left the room"
            : link.kind === "invite" && !session.joinedOnce
              ? "This invite link does not work"
              : "You are not in the room"}
        </h1>
        <p role="alert">{phase.screen === "refused" ? phase.why : "Take care."}</p>
        {phase.screen === "refused" && link.kind === "invite" && !session.joinedOnce ? (
          <p>Ask the person who sent it to you for a new link.</p>
        ) : null}
      </Page>
    );
  }
  return <RoomView session={session} leave={leave} />;
}

function Page(props: {
  leave: preact.ComponentChildren;
  title: string;
  children: preact.ComponentChildren;
}) {
  useEffect(() => {
    document.title = `${props.title} · Circle`;
  }, [props.title]);
  return (
    <div class="page">
      <header class="topbar">
        <span class="brand">Circle</span>
        {props.leave}
      </header>
      <main class="page-body">{props.children}</main>
    </div>
  );
}

function JoinForm(props: { roomId: string; guest: boolean; onJoin: (name: string) => void }) {
  const { roomId, guest, onJoin } = props;
  const [name, setName] = useState("");
  return (
    <form
      class="join"
      onSubmit={(event) => {
        event.preventDefault();
        onJoin(name.trim());
      }}
    >
      <h1>Join your group</h1>
      <p>
        You are joining <strong>{roomId || "a group"}</strong>. Others see only the name you choose
        here, not who you are.
      </p>
      <label for="pseudonym">
        {guest ? "Your name in this group" : "Your name in this group (optional)"}
      </label>
      <input
        id="pseudonym"
        name="pseudonym"
        autocomplete="off"
        maxLength={64}
        required={guest}
        value={name}
        onInput={(e) => setName((e.target as HTMLInputElement).value)}
        aria-describedby="pseudonym-hint"
      />
      <p id="pseudonym-hint" class="hint">
        {guest
          ? "Any name you like: a first name, a nickname. You can use a different one each time."
          : "Leave it empty to use the name your link gives you."}
      </p>
      <button type="submit" class="primary">
        Join
      </button>
    </form>
  );
}

// What someone watching the screen sees after Leave quickly: nothing about
// Circle or the group.
function NeutralPage() {
  return (
    <main class="neutral">
      <h1>Weather</h1>
      <p>Mild with light winds. Showers later in the day.</p>
    </main>
  );
}
