// What the address's fragment says: how this visit joins. A fragment never
// reaches servers or their logs; the app reads it once and removes it.
//   #room=<id>&token=<jwt>   a link from the organisation (an account token)
//   ...&open=1[&title=<t>]   a facilitator's link: opens the room if it does
//                            not exist yet (its opener facilitates it)
//   #invite=<token>          an invite link a facilitator made: join as a guest
export type JoinLink =
  | { kind: "token"; roomId: string; token: string; open: boolean; title: string }
  | { kind: "invite"; roomId: string; invite: string }
  | { kind: "none" };

// The room an invite token names (its payload's "room"), read without
// verifying: only to say where the link leads; the server decides.
export function inviteRoom(invite: string): string {
  const payload = invite.split(".")[1];
  if (!payload) return "";
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const room: unknown = (JSON.parse(json) as Record<string, unknown>)["room"];
    return typeof room === "string" ? room : "";
  } catch {
    return "";
  }
}

export function parseJoinLink(hash: string): JoinLink {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const invite = params.get("invite") ?? "";
  if (invite) return { kind: "invite", roomId: inviteRoom(invite), invite };
  const roomId = params.get("room") ?? "";
  const token = params.get("token") ?? "";
  if (roomId && token) {
    return {
      kind: "token",
      roomId,
      token,
      open: params.get("open") === "1",
      title: params.get("title") ?? "",
    };
  }
  return { kind: "none" };
}
