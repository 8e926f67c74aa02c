/** Part ranges cover the file exactly once, in order, every part but the last full. */
import { describe, expect, it } from 'vitest';
import { partCount, partRange, partRanges } from './parts';

const MIB = 1024 * 1024;

describe('partRanges', () => {
  it('splits a file into full parts and a shorter last one', () => {
    expect(partRanges(10, 4)).toEqual([
      { number: 1, start: 0, end: 4 },
      { number: 2, start: 4, end: 8 },
      { number: 3, start: 8, end: 10 },
    ]);
  });

  it('has no empty last part when the size is a multiple of the part size', () => {
    expect(partRanges(32 * MIB, 16 * MIB)).toEqual([
      { number: 1, start: 0, end: 16 * MIB },
      { number: 2, start: 16 * MIB, end: 32 * MIB },
    ]);
  });

  it('covers every byte of a large file exactly once', () => {
    const size = 4 * 1024 * MIB - 3;
    const ranges = partRanges(size, 16 * MIB);
    expect(ranges).toHaveLength(256);
    expect(ranges[0]!.start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(size);
    for (let i = 1; i < ranges.length; i += 1) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
  });
});

describe('partRange', () => {
  it('computes one part without the others', () => {
    expect(partRange(3, 16 * MIB, 40 * MIB)).toEqual({ number: 3, start: 32 * MIB, end: 40 * MIB });
  });

  it('refuses numbers outside the upload', () => {
    expect(() => partRange(0, 4, 10)).toThrow(RangeError);
    expect(() => partRange(4, 4, 10)).toThrow(RangeError);
    expect(() => partRange(1.5, 4, 10)).toThrow(RangeError);
  });
});

describe('partCount', () => {
  it('is at least one and refuses a zero part size', () => {
    expect(partCount(0, 4)).toBe(1);
    expect(partCount(5, 5)).toBe(1);
    expect(partCount(6, 5)).toBe(2);
    expect(() => partCount(10, 0)).toThrow(RangeError);
  });
});
