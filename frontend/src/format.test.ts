/** Wording of "live for …" and viewer counts. */
import { describe, expect, it } from 'vitest';
import { formatLiveFor, formatViewers } from './format';

const start = '2026-03-01T10:00:00Z';
const at = (ms: number) => Date.parse(start) + ms;
const MIN = 60_000;

describe('formatLiveFor', () => {
  it('says minutes for the first hour', () => {
    expect(formatLiveFor(start, at(30_000))).toBe('live for under a minute');
    expect(formatLiveFor(start, at(MIN))).toBe('live for 1 min');
    expect(formatLiveFor(start, at(3 * MIN + 59_000))).toBe('live for 3 min');
    expect(formatLiveFor(start, at(59 * MIN))).toBe('live for 59 min');
  });

  it('says hours and minutes after that, and days after a day', () => {
    expect(formatLiveFor(start, at(60 * MIN))).toBe('live for 1 h');
    expect(formatLiveFor(start, at(65 * MIN))).toBe('live for 1 h 5 min');
    expect(formatLiveFor(start, at(24 * 60 * MIN))).toBe('live for 1 d');
    expect(formatLiveFor(start, at(27 * 60 * MIN + 10 * MIN))).toBe('live for 1 d 3 h');
  });

  it('never goes negative when the client clock is behind the server', () => {
    expect(formatLiveFor(start, at(-5 * MIN))).toBe('live for under a minute');
  });

  it('copes with a start time it cannot read', () => {
    expect(formatLiveFor('yesterday', at(0))).toBe('live');
  });
});

describe('formatViewers', () => {
  it('uses the singular for one viewer and groups thousands', () => {
    expect(formatViewers(0)).toBe('0 viewers');
    expect(formatViewers(1)).toBe('1 viewer');
    expect(formatViewers(2)).toBe('2 viewers');
    expect(formatViewers(12345)).toBe('12,345 viewers');
    expect(formatViewers(-3)).toBe('0 viewers');
  });
});
