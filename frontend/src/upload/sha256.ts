/**
 * SHA-256 of a Blob read in slices, so hashing a 4 GiB file holds one or two slices in memory
 * instead of the file. @noble/hashes is audited pure JavaScript: no WASM to fetch, so the page's
 * `script-src 'self'` needs nothing more. Runs in the hash worker; a plain function here so it is
 * tested without one.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const SLICE_BYTES = 4 * 1024 * 1024;

/** The hex digest of `blob`; `onProgress` gets the bytes hashed so far after each slice. */
export async function hashBlob(
  blob: Blob,
  onProgress: (bytes: number) => void = () => {},
  sliceBytes: number = SLICE_BYTES,
): Promise<string> {
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
