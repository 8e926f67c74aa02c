/**
 * The byte ranges of a multipart upload: part n (1-based) covers
 * [(n-1)·partSize, min(n·partSize, size)), so every part but the last is exactly `partSize`
 * bytes, as storage requires of all parts except the last.
 */

export interface PartRange {
  /** 1-based, as S3 numbers parts. */
  number: number;
  start: number;
  /** Exclusive. */
  end: number;
}

export function partCount(size: number, partSize: number): number {
  if (!(partSize > 0)) throw new RangeError('the part size must be positive');
  return Math.max(1, Math.ceil(size / partSize));
}

export function partRange(number: number, partSize: number, size: number): PartRange {
  const count = partCount(size, partSize);
  if (!Number.isInteger(number) || number < 1 || number > count) {
    throw new RangeError(`part ${number} is outside 1..${count}`);
  }
  const start = (number - 1) * partSize;
  return { number, start, end: Math.min(number * partSize, size) };
}

export function partRanges(size: number, partSize: number): PartRange[] {
  return Array.from({ length: partCount(size, partSize) }, (_, i) => partRange(i + 1, partSize, size));
}
