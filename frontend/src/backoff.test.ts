/** Backoff growth, cap and jitter bounds; retries and abortable waits. */
import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, retry, sleep } from './backoff';

describe('backoffDelay', () => {
  const opts = { baseMs: 1000, maxMs: 10_000, jitter: 0.2 };

  it('doubles per attempt up to the cap when jitter draws zero', () => {
    const none = () => 0;
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts, none))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('shortens by at most the jitter fraction', () => {
    expect(backoffDelay(0, opts, () => 1)).toBe(800);
    expect(backoffDelay(10, opts, () => 0.5)).toBe(9000);
  });

  it('stays finite for absurd attempt numbers', () => {
    expect(backoffDelay(10_000, opts, () => 0)).toBe(10_000);
  });
});

describe('retry', () => {
  const base = { backoff: { baseMs: 100, maxMs: 1000, jitter: 0 }, random: () => 0 };

  it('tries again after a retryable failure, waiting longer each time', async () => {
    const waits: number[] = [];
    let calls = 0;
    const answer = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('dropped');
        return 'ok';
      },
      { ...base, tries: 3, retryable: () => true, sleep: async (ms) => void waits.push(ms) },
    );
    expect(answer).toBe('ok');
    expect(waits).toEqual([100, 200]);
  });

  it('gives up after the last try with that try\'s error', async () => {
    let calls = 0;
    const failing = retry(
      async (attempt) => {
        calls += 1;
        throw new Error(`try ${attempt}`);
      },
      { ...base, tries: 3, retryable: () => true, sleep: async () => {} },
    );
    await expect(failing).rejects.toThrow('try 3');
    expect(calls).toBe(3);
  });

  it('does not retry a failure that would fail again', async () => {
    let calls = 0;
    const onRetry = vi.fn();
    const failing = retry(
      async () => {
        calls += 1;
        throw new Error('refused');
      },
      { ...base, tries: 3, retryable: () => false, sleep: async () => {}, onRetry },
    );
    await expect(failing).rejects.toThrow('refused');
    expect(calls).toBe(1);
    expect(onRetry).not.toHaveBeenCalled();
  });
});

describe('sleep', () => {
  it('rejects with an AbortError when the signal fires', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    await expect(sleep(1, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
