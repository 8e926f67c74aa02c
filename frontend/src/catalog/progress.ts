/**
 * Live processing progress for the catalogue pages, from `GET /api/media/progress?ids=…`
 * (Server-Sent Events): one stream per page for the listed videos still being processed, each
 * change pushed as it is recorded instead of asking item by item.
 *
 * Read with `readEventStream` (sse.ts): the session cookie goes along, and a dropped or refused
 * stream is opened again with backoff, for the items still processing: the first events of a new
 * stream carry each item's state now, so nothing missed in between is lost. The stream closes once every followed item is
 * DONE or FAILED, and when the page is left.
 */
import type { Media, Processing, ProgressEvent } from '../api/types';
import { jsonObject, readEventStream, type EventStreamOptions } from '../sse';

/** Items one stream may follow (the server refuses more). */
export const MAX_FOLLOWED = 50;

export const PROGRESS_PATH = '/api/media/progress';

/** Whether processing is over, one way or the other. */
export function settled(processing: Processing | null | undefined): boolean {
  return processing?.status === 'DONE' || processing?.status === 'FAILED';
}

/** Whether a listed item's processing is still to come: a video past its upload, not yet DONE or FAILED. */
export function stillProcessing(item: Media): boolean {
  return item.kind === 'video' && item.status === 'uploaded' && !settled(item.processing);
}

/** The event's data, or null when it is not one (a bad event must not break the page). */
export function parseProgressEvent(data: string): ProgressEvent | null {
  const p = jsonObject(data);
  if (!p || typeof p.id !== 'string' || p.id === '') return null;
  const record = p.processing;
  if (record === null || record === undefined) return { id: p.id, processing: null };
  if (typeof record !== 'object') return null;
  const r = record as Record<string, unknown>;
  if (typeof r.status !== 'string' || typeof r.percent !== 'number') return null;
  return { id: p.id, processing: record as Processing };
}

/** The stream's URL for `ids`. */
export function progressUrl(ids: readonly string[]): string {
  return `${PROGRESS_PATH}?ids=${ids.map(encodeURIComponent).join(',')}`;
}

export interface ProgressOptions extends EventStreamOptions {
  /** Told of every event: the item's processing now (null before its upload is finalized). */
  onUpdate: (event: ProgressEvent) => void;
}

/**
 * Follows the processing of a page's items on one stream. `follow(ids)` says which items; the
 * same set again keeps the stream, another set replaces it, an empty one closes it.
 */
export class ProgressFollower {
  private wanted: string[] = [];
  private connection: AbortController | null = null;

  constructor(private readonly options: ProgressOptions) {}

  /** Follows exactly these items (the first {@link MAX_FOLLOWED}). */
  follow(ids: readonly string[]): void {
    const next = [...new Set(ids)].slice(0, MAX_FOLLOWED);
    const same = next.length === this.wanted.length && next.every((id) => this.wanted.includes(id));
    if (same && (this.connection || next.length === 0)) return;
    this.stop();
    this.wanted = next;
    if (next.length === 0) return;
    const connection = new AbortController();
    this.connection = connection;
    void this.run(connection.signal);
  }

  /** Closes the stream for good (the page is left). */
  stop(): void {
    this.connection?.abort();
    this.connection = null;
    this.wanted = [];
  }

  /** The items still followed. */
  get following(): readonly string[] {
    return this.wanted;
  }

  private async run(signal: AbortSignal): Promise<void> {
    await readEventStream(
      {
        url: () => progressUrl(this.wanted),
        wanted: () => this.wanted.length > 0,
        onMessage: (message) => {
          if (message.event !== 'processing') return;
          const event = parseProgressEvent(message.data);
          if (!event) return;
          if (settled(event.processing)) this.wanted = this.wanted.filter((id) => id !== event.id);
          this.options.onUpdate(event);
        },
      },
      signal,
      this.options,
    );
    this.finish(signal);
  }

  private finish(signal: AbortSignal): void {
    if (this.connection?.signal === signal) {
      this.connection.abort();
      this.connection = null;
    }
  }
}
