/**
 * Exponential backoff with jitter, shared by the SSE reconnect and the player's reload.
 *
 * Jitter matters here: when a gateway or rooms replica restarts, every open page loses its
 * connection at the same instant, and identical delays would bring them all back at once.
 */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay that is randomised, 0..1 (0.2 → delay in [0.8d, d]). */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based): base·2^attempt capped at max, minus jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { baseMs, maxMs, jitter = 0.2 } = options;
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(exp * (1 - jitter * random()));
}
