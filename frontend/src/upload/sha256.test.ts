/** The sliced digest equals the digest of the whole, whatever the slice size. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBlob } from './sha256';

describe('hashBlob', () => {
  it('gives the standard digest of the empty file and of "abc"', async () => {
    expect(await hashBlob(new Blob([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await hashBlob(new Blob(['abc']))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes across slice boundaries and reports the bytes done after each slice', async () => {
    const bytes = new Uint8Array(10_000).map((_, i) => (i * 7) % 251);
    const progress: number[] = [];
    const digest = await hashBlob(new Blob([bytes]), (done) => progress.push(done), 4096);
    expect(digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(progress).toEqual([4096, 8192, 10_000]);
  });
});
