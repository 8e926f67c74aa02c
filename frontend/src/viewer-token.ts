/**
 * The viewer token a watch page sends with its presence heartbeat.
 *
 * The server issues it (a signed, room-bound viewer id; a client cannot choose who it counts
 * as): the first heartbeat sends none, every answer carries the token to send next time. Kept
 * in sessionStorage per room: one viewer per tab, stable across reloads of that tab (a reload is
 * not a second viewer), never shared between tabs the way localStorage would be.
 */

const PREFIX = 'ferrocast.viewer_token.';

/** What a token looks like; anything else in storage (tampering, old formats) is dropped. */
const TOKEN = /^[A-Za-z0-9._-]{1,200}$/;

export function loadViewerToken(
  username: string,
  storage: Storage | null = safeSessionStorage(),
): string | null {
  try {
    const stored = storage?.getItem(PREFIX + username.toLowerCase()) ?? null;
    return stored !== null && TOKEN.test(stored) ? stored : null;
  } catch {
    return null;
  }
}

export function saveViewerToken(
  username: string,
  token: string,
  storage: Storage | null = safeSessionStorage(),
): void {
  if (!TOKEN.test(token)) return;
  try {
    storage?.setItem(PREFIX + username.toLowerCase(), token);
  } catch {
    // Storage can be full or disabled (private modes): the token then lives for this page only.
  }
}

function safeSessionStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
