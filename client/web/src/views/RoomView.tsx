// The room: the conversation and composer in the middle, who is here and what
// you can do at the side (stacked on a phone), banners for what matters now
// (reconnecting, the agreement, the round, a pause).
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../session";
import { Banners } from "./Banners";
import { Composer } from "./Composer";
import { Conversation } from "./Conversation";
import { FacilitatorTools } from "./FacilitatorTools";
import { People } from "./People";
import { Support } from "./Support";

export function RoomView({ session, leave }: { session: Session; leave: ComponentChildren }) {
  const room = session.room;
  const title = room.info?.title || room.roomId;
  const [notice, setNotice] = useState("");
  useEffect(() => {
    document.title = `${title} · Circle`;
  }, [title]);

  // Every control reports a refusal the same way: said once, in words.
  const act: Act = async (action, reason) => {
    const why = await session.act(action, reason);
    setNotice(why ? `Not done: ${why}` : "");
    return why;
  };

  return (
    <div class="room">
      <header class="topbar">
        <span class="brand">Circle</span>
        <div class="room-title">
          <h1>{title}</h1>
          {room.settings?.topic ? <p class="topic">{room.settings.topic}</p> : null}
        </div>
        <LinkState session={session} />
        {leave}
      </header>
      <Banners session={session} act={act} />
      <p class="action-notice" role="alert">
        {notice}
      </p>
      <div class="room-body">
        <main class="conversation-pane" aria-label="Conversation">
          <Conversation session={session} act={act} />
          <Composer session={session} act={act} />
        </main>
        <aside class="side-pane" aria-label="People and tools">
          <Support session={session} act={act} />
          <People session={session} act={act} />
          {room.youFacilitate() ? <FacilitatorTools session={session} act={act} /> : null}
        </aside>
      </div>
      <div class="visually-hidden" aria-live="polite" aria-atomic="true">
        {session.announcement}
      </div>
    </div>
  );
}

export type Act = (
  action: Parameters<Session["act"]>[0],
  reason?: string,
) => Promise<string | undefined>;

function LinkState({ session }: { session: Session }) {
  const status = session.status;
  let text = "Connected";
  if (status.state === "reconnecting") text = "Reconnecting…";
  if (status.state === "rejoining") text = "Catching up…";
  if (status.state === "connecting") text = "Connecting…";
  if (status.state === "closed") text = "Disconnected";
  return (
    <span class={`link-state link-${status.state}`} role="status">
      {text}
    </span>
  );
}
