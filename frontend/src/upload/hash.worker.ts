/**
 * The hash worker: SHA-256 of a Blob (a whole file, or one part of it) off the main thread, so
 * the page keeps answering while gigabytes are read and hashed. One job at a time; the page
 * ends a job it no longer wants by terminating the worker.
 */
import { hashBlob } from './sha256';
import type { HashJob, HashReply } from './hasher';

const post = (reply: HashReply) => (self as unknown as Worker).postMessage(reply);

self.addEventListener('message', (event: MessageEvent<HashJob>) => {
  const { id, blob } = event.data;
  hashBlob(blob, (bytes) => post({ id, type: 'progress', bytes })).then(
    (sha256) => post({ id, type: 'done', sha256 }),
    (error: unknown) => post({ id, type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
