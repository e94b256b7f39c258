// Invite links, for those who may make them: a link to copy and send, how
// long it works and how many may use it, and withdrawing it (which keeps out
// anyone who has not yet joined with it).
import { useState } from "preact/hooks";
import type { Invite } from "../protocol";
import type { Session } from "../session";
import type { Act } from "./RoomView";

export function inviteUrl(invite: Invite): string {
  return `${window.location.origin}/#invite=${invite.token}`;
}

function until(ms: bigint): string {
  return new Date(Number(ms)).toLocaleString([], {
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function InviteLinks({ session, act }: { session: Session; act: Act }) {
  const room = session.room;
  const [ttl, setTtl] = useState(String(24 * 3600));
  const [uses, setUses] = useState("0");
  const [copied, setCopied] = useState("");
  const invites = [...room.invites.values()].filter(
    (invite) => Number(invite.expiresAtUnixMs) > Date.now(),
  );
  return (
    <div class="tool">
      <h3>Invite links ({invites.length})</h3>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void act({
            case: "createInvite",
            value: { ttlSeconds: Number(ttl), maxUses: Number(uses) },
          });
        }}
      >
        <label for="invite-ttl">Works for</label>
        <select
          id="invite-ttl"
          value={ttl}
          onChange={(e) => setTtl((e.target as HTMLSelectElement).value)}
        >
          <option value={String(3600)}>1 hour</option>
          <option value={String(24 * 3600)}>1 day</option>
          <option value={String(7 * 24 * 3600)}>7 days</option>
        </select>
        <label for="invite-uses">People who may join with it</label>
        <select
          id="invite-uses"
          value={uses}
          onChange={(e) => setUses((e.target as HTMLSelectElement).value)}
        >
          <option value="0">any number</option>
          <option value="1">1 person</option>
          <option value="5">5 people</option>
          <option value="20">20 people</option>
        </select>
        <button type="submit" class="small primary">
          Make an invite link
        </button>
      </form>
      <ul class="invites">
        {invites.map((invite) => {
          const id = String(invite.inviteId);
          const url = inviteUrl(invite);
          return (
            <li key={id} class="invite">
              <label for={`invite-${id}`}>
                Link {id.slice(-4)}: works until {until(invite.expiresAtUnixMs)},{" "}
                {invite.maxUses
                  ? `${invite.uses} of ${invite.maxUses} used`
                  : `used by ${invite.uses}`}
              </label>
              <input
                id={`invite-${id}`}
                class="invite-url"
                readOnly
                value={url}
                onFocus={(e) => (e.target as HTMLInputElement).select()}
              />
              <div class="buttons">
                <button
                  type="button"
                  class="small"
                  onClick={() => {
                    void navigator.clipboard?.writeText(url).then(() => setCopied(id));
                  }}
                >
                  {copied === id ? "Copied" : "Copy link"}
                </button>
                <button
                  type="button"
                  class="small danger"
                  onClick={() =>
                    void act({ case: "revokeInvite", value: { inviteId: invite.inviteId } })
                  }
                >
                  Withdraw link {id.slice(-4)}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
