// A guest's key: made once per browser and kept in localStorage, the only
// thing the app stores. The server derives the guest's account from it, so
// a reload or a reconnect is the same person, and a ban or a mute follows
// them. Never shown, never sent anywhere but in Hello.
const kStorageKey = "circle-guest-key";

export function guestKey(storage: Storage = localStorage): string {
  const kept = storage.getItem(kStorageKey);
  if (kept && kept.length >= 32) return kept;
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const key = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  storage.setItem(kStorageKey, key);
  return key;
}
