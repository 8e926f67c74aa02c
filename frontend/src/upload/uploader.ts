/**
 * One upload from start to end: hash the file, create the item, send the bytes straight to
 * storage (one signed PUT, or part after part), finalize.
 *
 * The part size is only known once the item exists, so the whole file is hashed first (the
 * item's checksum), and each part is hashed again just before it is sent (its signed checksum);
 * the next part is hashed while the current one uploads, so the worker and the network work at
 * once. A part that fails on the way (a dropped connection, a 5xx) is sent again with a fresh
 * URL, up to three tries. Whatever ends the upload early (cancel, a refusal, a last failed try)
 * deletes the item, so nothing half-uploaded is left behind; the catalogue's sweeper is only the
 * backstop for a closed tab.
 */
import type { api } from '../api/endpoints';
import { ApiError, isAbortError } from '../api/error';
import type { Media, MediaKind, SignedRequest, UploadPlan, Visibility } from '../api/types';
import { retry } from '../backoff';
import type { Hasher } from './hasher';
import { partRanges, type PartRange } from './parts';
import { SpeedMeter } from './speed';
import { StorageError, type Send } from './storage';

export const TRIES = 3;
const BACKOFF = { baseMs: 1000, maxMs: 8000 };

export interface UploadInput {
  file: Blob;
  kind: MediaKind;
  contentType: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  /** The file's digest when an earlier attempt already computed it. */
  sha256?: string | null;
  /** Videos: package encrypted; left out, the owner's default decides. */
  encrypt?: boolean;
}

export interface RetryNotice {
  /** The try that failed, 1-based. */
  attempt: number;
  delayMs: number;
  message: string;
}

export type UploadState =
  | { phase: 'hashing'; done: number; total: number }
  | { phase: 'creating' }
  | {
      phase: 'uploading';
      done: number;
      total: number;
      bytesPerSecond: number | null;
      /** The part being sent, for a multipart upload. */
      part: { number: number; count: number } | null;
      retry: RetryNotice | null;
    }
  | { phase: 'finalizing'; total: number };

export interface UploadDeps {
  api: Pick<typeof api, 'createMedia' | 'mediaParts' | 'finalizeMedia' | 'deleteMedia'>;
  hasher: Hasher;
  send: Send;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  random?: () => number;
}

export interface UploadCallbacks {
  onState: (state: UploadState) => void;
  /** The whole file's digest, once known (the page keeps it for a retry of the same file). */
  onHashed?: (sha256: string) => void;
  onCreated?: (media: Media) => void;
}

/** Whether a failure may pass on another try: no answer at all, or storage or the gateway overloaded. */
export function isTransient(error: unknown): boolean {
  if (isAbortError(error)) return false;
  if (error instanceof StorageError) return error.retryable;
  if (error instanceof ApiError) return error.status === 0 || error.status === 502 || error.status === 503 || error.status === 504;
  return false;
}

export async function uploadMedia(
  input: UploadInput,
  deps: UploadDeps,
  callbacks: UploadCallbacks,
  signal: AbortSignal,
): Promise<Media> {
  const { file } = input;
  const total = file.size;
  let sha256 = input.sha256 ?? null;
  if (!sha256) {
    callbacks.onState({ phase: 'hashing', done: 0, total });
    sha256 = await deps.hasher.hash(file, (done) => callbacks.onState({ phase: 'hashing', done, total }), signal);
    callbacks.onHashed?.(sha256);
  }

  callbacks.onState({ phase: 'creating' });
  const created = await deps.api.createMedia(
    {
      kind: input.kind,
      title: input.title,
      description: input.description,
      tags: input.tags,
      visibility: input.visibility,
      size: total,
      sha256,
      content_type: input.contentType,
      ...(input.kind === 'video' && input.encrypt !== undefined ? { encrypt: input.encrypt } : {}),
    },
    signal,
  );
  const id = created.media.id;
  callbacks.onCreated?.(created.media);

  try {
    await sendBytes(input.file, id, created.upload, deps, callbacks, signal);
    callbacks.onState({ phase: 'finalizing', total: input.file.size });
    return await retry(() => deps.api.finalizeMedia(id, signal), {
      tries: TRIES,
      backoff: BACKOFF,
      retryable: isTransient,
      sleep: (ms) => deps.sleep(ms, signal),
      random: deps.random,
    });
  } catch (error) {
    // A refused finalize has removed the item already; anything else leaves it to delete.
    const removed = error instanceof ApiError && error.code === 'upload_refused';
    if (!removed) await deps.api.deleteMedia(id).catch(() => undefined);
    throw error;
  }
}

async function sendBytes(
  file: Blob,
  id: string,
  plan: UploadPlan,
  deps: UploadDeps,
  callbacks: UploadCallbacks,
  signal: AbortSignal,
): Promise<void> {
  const total = file.size;
  const meter = new SpeedMeter();
  let part: { number: number; count: number } | null = null;
  const report = (done: number, retryNotice: RetryNotice | null = null) => {
    meter.add(deps.now(), done);
    callbacks.onState({ phase: 'uploading', done, total, bytesPerSecond: meter.bytesPerSecond(), part, retry: retryNotice });
  };
  const tried = <T>(work: () => Promise<T>, restartAt: number) =>
    retry(work, {
      tries: TRIES,
      backoff: BACKOFF,
      retryable: isTransient,
      sleep: (ms) => deps.sleep(ms, signal),
      random: deps.random,
      onRetry: (error, attempt, delayMs) =>
        report(restartAt, { attempt, delayMs, message: error instanceof Error ? error.message : String(error) }),
    });

  report(0);
  if (plan.method === 'put') {
    const request: SignedRequest = plan.request;
    await tried(() => deps.send(request, file.slice(0, total), (sent) => report(sent), signal), 0);
    return;
  }

  const ranges = partRanges(total, plan.part_size);
  if (ranges.length !== plan.parts) {
    throw new Error(`The catalogue planned ${plan.parts} parts of ${plan.part_size} bytes for ${total} bytes.`);
  }
  const hashPart = (range: PartRange) => {
    const digest = deps.hasher.hash(file.slice(range.start, range.end), () => {}, signal);
    // Awaited later; an early failure must not count as unhandled meanwhile.
    digest.catch(() => undefined);
    return digest;
  };
  let nextDigest = hashPart(ranges[0]!);
  let sentBefore = 0;
  for (const [index, range] of ranges.entries()) {
    part = { number: range.number, count: ranges.length };
    const digest = await nextDigest;
    const following = ranges[index + 1];
    if (following) nextDigest = hashPart(following);
    const base = sentBefore;
    await tried(async () => {
      const urls = await deps.api.mediaParts(id, [{ number: range.number, sha256: digest }], signal);
      const url = urls.parts.find((p) => p.number === range.number);
      if (!url) throw new Error(`The catalogue sent no URL for part ${range.number}.`);
      await deps.send(url.request, file.slice(range.start, range.end), (sent) => report(base + sent), signal);
    }, base);
    sentBefore += range.end - range.start;
  }
}
