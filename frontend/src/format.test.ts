/** Wording of "live for …", viewer counts, sizes and speeds. */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatLiveFor, formatProgress, formatSpeed, formatStarted, formatViewers } from './format';

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

describe('formatBytes', () => {
  it('keeps bytes whole and shows at most three significant digits above', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.00 KB');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(15 * 1024 * 1024 + 300_000)).toBe('15.3 MB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.00 GB');
  });

  it('never shows a negative or unreadable size', () => {
    expect(formatBytes(-5)).toBe('0 B');
    expect(formatBytes(Number.NaN)).toBe('0 B');
  });
});

describe('formatSpeed', () => {
  it('is a size per second, or a dash before there is a rate', () => {
    expect(formatSpeed(3.2 * 1024 * 1024)).toBe('3.20 MB/s');
    expect(formatSpeed(null)).toBe('—');
    expect(formatSpeed(0)).toBe('—');
    expect(formatSpeed(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('formatProgress', () => {
  it('says how much of the total is done, floored so 100% only means done', () => {
    expect(formatProgress(0, 2048)).toBe('0 B of 2.00 KB (0%)');
    expect(formatProgress(1000, 2048)).toBe('1000 B of 2.00 KB (48%)');
    expect(formatProgress(2047, 2048)).toBe('2.00 KB of 2.00 KB (99%)');
    expect(formatProgress(2048, 2048)).toBe('2.00 KB of 2.00 KB (100%)');
    expect(formatProgress(0, 0)).toBe('0 B of 0 B (100%)');
  });
});

describe('formatStarted', () => {
  it('says how long ago, never in the future, and the date after a day', () => {
    expect(formatStarted(at(0), at(20_000))).toBe('started just now');
    expect(formatStarted(at(0), at(-MIN))).toBe('started just now');
    expect(formatStarted(at(0), at(4 * MIN + 5000))).toBe('started 4 min ago');
    expect(formatStarted(at(0), at(130 * MIN))).toBe('started 2 h ago');
    expect(formatStarted(at(0), at(3 * 24 * 60 * MIN))).toMatch(/^started Mar 1, 2026/);
  });
});
