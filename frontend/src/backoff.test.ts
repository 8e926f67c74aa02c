/** Backoff growth, cap and jitter bounds. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';

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
