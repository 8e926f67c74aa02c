/** Quality menu entries from hls.js levels. */
import { describe, expect, it } from 'vitest';
import { AUTO_LEVEL, formatBitrate, qualityEntries } from './quality';

describe('qualityEntries', () => {
  it('offers Auto first, then one entry per level from the highest, labelled by height', () => {
    // hls.js keeps the master playlist order, which need not be sorted.
    const levels = [
      { height: 360, bitrate: 800_000 },
      { height: 720, bitrate: 2_800_000 },
      { height: 480, bitrate: 1_400_000 },
    ];
    expect(qualityEntries(levels)).toEqual([
      { value: AUTO_LEVEL, label: 'Auto' },
      { value: 1, label: '720p' },
      { value: 2, label: '480p' },
      { value: 0, label: '360p' },
    ]);
  });

  it('tells two renditions of one height apart by bitrate', () => {
    const entries = qualityEntries([
      { height: 720, bitrate: 2_500_000 },
      { height: 720, bitrate: 6_000_000 },
    ]);
    expect(entries.slice(1)).toEqual([
      { value: 1, label: '720p · 6 Mb/s' },
      { value: 0, label: '720p · 2.5 Mb/s' },
    ]);
  });

  it('labels a level without a known height by its bitrate', () => {
    expect(qualityEntries([{ height: 0, bitrate: 640_000 }])[1]).toEqual({ value: 0, label: '640 kb/s' });
  });

  it('is just Auto when there are no levels (native HLS)', () => {
    expect(qualityEntries([])).toEqual([{ value: AUTO_LEVEL, label: 'Auto' }]);
  });
});

describe('formatBitrate', () => {
  it('uses Mb/s from one megabit', () => {
    expect(formatBitrate(999_000)).toBe('999 kb/s');
    expect(formatBitrate(1_000_000)).toBe('1 Mb/s');
    expect(formatBitrate(4_550_000)).toBe('4.5 Mb/s');
  });
});
