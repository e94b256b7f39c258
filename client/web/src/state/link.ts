// What the address's fragment says: how this visit joins. A fragment never
// reaches servers or their logs; the app reads it once and removes it.
//   #room=<id>&token=<jwt>   a link from the organisation (an account token)
//   ...&open=1[&title=<t>]   a facilitator's link: opens the room if it does
//                            not exist yet (its opener facilitates it)
export type JoinLink =
  { kind: "token"; roomId: string; token: string; open: boolean; title: string } | { kind: "none" };

export function parseJoinLink(hash: string): JoinLink {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
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
