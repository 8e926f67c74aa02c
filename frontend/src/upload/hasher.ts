/**
 * The page's side of the hash worker: `hash(blob)` resolves with the hex SHA-256 and reports
 * progress on the way. Aborting terminates the worker (the only way to stop a hash midway);
 * the next job starts a fresh one.
 */

export interface HashJob {
  id: number;
  blob: Blob;
}

export type HashReply =
  | { id: number; type: 'progress'; bytes: number }
  | { id: number; type: 'done'; sha256: string }
  | { id: number; type: 'error'; message: string };

export interface Hasher {
  hash(blob: Blob, onProgress: (bytes: number) => void, signal: AbortSignal): Promise<string>;
  dispose(): void;
}

export function workerHasher(): Hasher {
  let worker: Worker | null = null;
  let nextId = 0;
  /** Jobs run one after another; the worker is single-threaded anyway. */
  let queue: Promise<unknown> = Promise.resolve();

  const stop = () => {
    worker?.terminate();
    worker = null;
  };

  const run = (blob: Blob, onProgress: (bytes: number) => void, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      if (signal.aborted) {
        reject(new DOMException('The operation was aborted.', 'AbortError'));
        return;
      }
      worker ??= new Worker(new URL('./hash.worker.ts', import.meta.url), { type: 'module', name: 'sha256' });
      const current = worker;
      const id = (nextId += 1);
      const finish = () => {
        current.removeEventListener('message', onMessage);
        current.removeEventListener('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (event: MessageEvent<HashReply>) => {
        const reply = event.data;
        if (reply.id !== id) return;
        if (reply.type === 'progress') onProgress(reply.bytes);
        else {
          finish();
          if (reply.type === 'done') resolve(reply.sha256);
          else reject(new Error(`Could not read the file: ${reply.message}`));
        }
      };
      const onError = (event: ErrorEvent) => {
        finish();
        stop();
        reject(new Error(`Could not hash the file: ${event.message || 'the hash worker failed'}`));
      };
      const onAbort = () => {
        finish();
        stop();
        reject(new DOMException('The operation was aborted.', 'AbortError'));
      };
      current.addEventListener('message', onMessage);
      current.addEventListener('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
      current.postMessage({ id, blob } satisfies HashJob);
    });

  return {
    hash(blob, onProgress, signal) {
      const job = queue.then(() => run(blob, onProgress, signal));
      queue = job.catch(() => undefined);
      return job;
    },
    dispose: stop,
  };
}
