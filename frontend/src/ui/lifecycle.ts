/**
 * Timers and listeners tied to a page's lifetime.
 *
 * The router gives each page an `AbortSignal` that fires when the visitor navigates away; these
 * helpers hang every interval, timeout and cleanup on it, so a left page keeps no heartbeat,
 * poll or player running in the background.
 */

export function onLeave(signal: AbortSignal, cleanup: () => void): void {
  if (signal.aborted) cleanup();
  else signal.addEventListener('abort', cleanup, { once: true });
}

export function every(signal: AbortSignal, ms: number, tick: () => void): void {
  const id = setInterval(tick, ms);
  onLeave(signal, () => clearInterval(id));
}

export function after(signal: AbortSignal, ms: number, run: () => void): void {
  const id = setTimeout(run, ms);
  onLeave(signal, () => clearTimeout(id));
}
