/** The digest is the standard one on both paths, whatever the slice size. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBlob } from './sha256';

const sliced = { oneShotBytes: 0 };

describe('hashBlob', () => {
  it('gives the standard digest of the empty file and of "abc", sliced or whole', async () => {
    for (const options of [sliced, {}]) {
      expect(await hashBlob(new Blob([]), undefined, options)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      expect(await hashBlob(new Blob(['abc']), undefined, options)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    }
  });

  it('hashes across slice boundaries and reports the bytes done after each slice', async () => {
    const bytes = new Uint8Array(10_000).map((_, i) => (i * 7) % 251);
    const progress: number[] = [];
    const digest = await hashBlob(new Blob([bytes]), (done) => progress.push(done), { ...sliced, sliceBytes: 4096 });
    expect(digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(progress).toEqual([4096, 8192, 10_000]);
  });

  it('reads a small Blob whole and says so once', async () => {
    const bytes = new Uint8Array(10_000).map((_, i) => i % 256);
    const progress: number[] = [];
    expect(await hashBlob(new Blob([bytes]), (done) => progress.push(done))).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(progress).toEqual([10_000]);
  });
});
