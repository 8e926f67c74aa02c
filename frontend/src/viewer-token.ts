/**
 * The random id a watch page sends with its presence heartbeat.
 *
 * Kept in sessionStorage: one id per tab, stable across reloads of that tab (a reload is not a
 * second viewer), and never shared between tabs the way localStorage would be. Built from
 * `crypto.getRandomValues`, because `crypto.randomUUID` exists only in secure contexts and a
 * self-hosted ferrocast is often served over plain http.
 */

const KEY = 'ferrocast.viewer_id';

export function newViewerId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function viewerId(storage: Storage | undefined = safeSessionStorage()): string {
  const existing = storage?.getItem(KEY);
  if (existing && /^[0-9a-f]{32}$/.test(existing)) return existing;
  const id = newViewerId();
  try {
    storage?.setItem(KEY, id);
  } catch {
    // Storage can be full or disabled (private modes): the id then lives for this page only.
  }
  return id;
}

function safeSessionStorage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}
