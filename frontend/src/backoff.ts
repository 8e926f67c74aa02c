/**
 * Exponential backoff with jitter, shared by the SSE reconnect, the player's reload and the
 * upload's retries of a part.
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

export interface RetryOptions {
  /** Attempts in all, the first included. */
  tries: number;
  backoff: BackoffOptions;
  /** Whether a failure may pass if tried again (a dropped connection, not a refusal). */
  retryable: (error: unknown) => boolean;
  /** Waits `ms`, rejecting when the work is given up (AbortSignal). */
  sleep: (ms: number) => Promise<void>;
  /** Told before each wait, with the attempt that failed (1-based) and the delay. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
}

/** Runs `work` until it succeeds, fails for good, or has been tried `tries` times. */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= options.tries || !options.retryable(error)) throw error;
      const delay = backoffDelay(attempt - 1, options.backoff, options.random);
      options.onRetry?.(error, attempt, delay);
      await options.sleep(delay);
    }
  }
}

/** A timer that rejects with an AbortError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException('The operation was aborted.', 'AbortError'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DOMException('The operation was aborted.', 'AbortError'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
