/**
 * SHA-256 of a Blob without holding the file in memory.
 *
 * A Blob up to ONE_SHOT_BYTES (an upload part, a photo) is read whole and hashed by WebCrypto,
 * which uses the CPU's SHA instructions: about ten times the speed of JavaScript. WebCrypto
 * cannot hash incrementally, so anything larger (a whole video) is read in slices and hashed by
 * @noble/hashes, audited pure JavaScript: memory stays at a slice or two whatever the file's
 * size, and with no WASM the page's `script-src 'self'` needs nothing more. @noble also covers
 * the pages WebCrypto is missing from (`crypto.subtle` exists only in secure contexts). Runs in
 * the hash worker; a plain function here so it is tested without one.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const SLICE_BYTES = 4 * 1024 * 1024;
export const ONE_SHOT_BYTES = 32 * 1024 * 1024;

export interface HashOptions {
  sliceBytes?: number;
  /** Largest Blob read whole for WebCrypto; 0 always slices. */
  oneShotBytes?: number;
}

/** The hex digest of `blob`; `onProgress` gets the bytes hashed so far. */
export async function hashBlob(
  blob: Blob,
  onProgress: (bytes: number) => void = () => {},
  options: HashOptions = {},
): Promise<string> {
  const { sliceBytes = SLICE_BYTES, oneShotBytes = ONE_SHOT_BYTES } = options;
  const subtle = globalThis.crypto?.subtle;
  if (subtle && blob.size <= oneShotBytes) {
    const digest = await subtle.digest('SHA-256', await blob.arrayBuffer());
    onProgress(blob.size);
    return bytesToHex(new Uint8Array(digest));
  }
  const hash = sha256.create();
  const read = async (offset: number) => new Uint8Array(await blob.slice(offset, offset + sliceBytes).arrayBuffer());
  let offset = 0;
  // The next slice is read while this one is hashed, so the disk and the CPU work at once.
  let next = blob.size > 0 ? read(0) : null;
  while (next) {
    const chunk = await next;
    offset += chunk.byteLength;
    next = offset < blob.size && chunk.byteLength > 0 ? read(offset) : null;
    hash.update(chunk);
    onProgress(offset);
  }
  return bytesToHex(hash.digest());
}
