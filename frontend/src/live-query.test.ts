/** Debounced lookups where only the newest answer counts. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { liveQuery } from './live-query';

interface Pending {
  input: string;
  signal: AbortSignal;
  resolve: (value: string) => void;
  reject: (error: unknown) => void;
}

function setup(delayMs = 250) {
  const pending: Pending[] = [];
  const answers: string[] = [];
  const errors: unknown[] = [];
  const query = liveQuery<string, string>({
    delayMs,
    run: (input, signal) =>
      new Promise<string>((resolve, reject) => {
        pending.push({ input, signal, resolve, reject });
      }),
    onAnswer: (value) => answers.push(value),
    onError: (error) => errors.push(error),
  });
  return { query, pending, answers, errors };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('liveQuery', () => {
  it('looks up once, after typing has paused for the delay', async () => {
    const { query, pending } = setup();
    query.update('r');
    await vi.advanceTimersByTimeAsync(100);
    query.update('ru');
    await vi.advanceTimersByTimeAsync(100);
    query.update('rus');
    await vi.advanceTimersByTimeAsync(249);
    expect(pending).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.map((p) => p.input)).toEqual(['rus']);
  });

  it('ignores an older answer that arrives after a newer lookup started', async () => {
    const { query, pending, answers } = setup();
    query.now('ru');
    query.now('rust');
    expect(pending[0]!.signal.aborted).toBe(true);
    pending[1]!.resolve('answer for rust');
    pending[0]!.resolve('answer for ru');
    await vi.runAllTimersAsync();
    expect(answers).toEqual(['answer for rust']);
  });

  it('runs at once on now() and drops a lookup still waiting for the pause', async () => {
    const { query, pending } = setup();
    query.update('slow');
    query.now('fast');
    await vi.advanceTimersByTimeAsync(1000);
    expect(pending.map((p) => p.input)).toEqual(['fast']);
  });

  it('reports errors of the newest lookup only, and never an abort', async () => {
    const { query, pending, errors } = setup();
    query.now('a');
    query.now('b');
    pending[0]!.reject(new Error('old failure'));
    pending[1]!.reject(new DOMException('aborted', 'AbortError'));
    await vi.runAllTimersAsync();
    expect(errors).toEqual([]);
    query.now('c');
    pending[2]!.reject(new Error('down'));
    await vi.runAllTimersAsync();
    expect(errors).toEqual([new Error('down')]);
  });

  it('delivers nothing after cancel()', async () => {
    const { query, pending, answers } = setup();
    query.now('a');
    query.update('b');
    query.cancel();
    pending[0]!.resolve('late');
    await vi.advanceTimersByTimeAsync(1000);
    expect(answers).toEqual([]);
    expect(pending).toHaveLength(1);
    expect(pending[0]!.signal.aborted).toBe(true);
  });
});
