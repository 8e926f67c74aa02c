/**
 * Results as you type: a lookup that runs `delayMs` after the last change, where only the
 * newest lookup's answer is ever shown.
 *
 * Answers can arrive out of order (a short query is slower than the longer one typed after
 * it), so each lookup aborts the one before and, should an older answer still slip through,
 * it is dropped by its sequence number. Used by the library search and the tag autocomplete.
 */
import { isAbortError } from './api/error';

export interface LiveQueryOptions<I, T> {
  delayMs: number;
  run: (input: I, signal: AbortSignal) => Promise<T>;
  onAnswer: (value: T, input: I) => void;
  onError?: (error: unknown, input: I) => void;
  /** A lookup for `input` is about to start (for a busy indicator). */
  onStart?: (input: I) => void;
}

export interface LiveQuery<I> {
  /** The input changed: look it up once it has been still for `delayMs`. */
  update(input: I): void;
  /** Look `input` up at once (Enter, a tag chip, the first load). */
  now(input: I): void;
  /** Drops the waiting and the running lookup, so no answer arrives any more. */
  cancel(): void;
}

export function liveQuery<I, T>(options: LiveQueryOptions<I, T>): LiveQuery<I> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: AbortController | null = null;
  let sequence = 0;

  const clearTimer = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };

  const start = (input: I) => {
    clearTimer();
    running?.abort();
    const controller = new AbortController();
    running = controller;
    sequence += 1;
    const mine = sequence;
    options.onStart?.(input);
    options.run(input, controller.signal).then(
      (value) => {
        if (mine === sequence && !controller.signal.aborted) options.onAnswer(value, input);
      },
      (error: unknown) => {
        if (mine === sequence && !controller.signal.aborted && !isAbortError(error)) options.onError?.(error, input);
      },
    );
  };

  return {
    update(input) {
      clearTimer();
      timer = setTimeout(() => start(input), options.delayMs);
    },
    now: start,
    cancel() {
      clearTimer();
      running?.abort();
      running = null;
      sequence += 1;
    },
  };
}
