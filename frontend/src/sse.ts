/**
 * Server-Sent Events read with `fetch()`, for streams `EventSource` cannot serve well: it hides
 * the status of a refused request (a 401 that will never pass looks like a dropped connection)
 * and retries at its own pace.
 *
 * `SseParser` is the HTML standard's "event stream interpretation", pure: text goes in as it
 * arrives, in chunks cut anywhere (inside a line, between CR and LF), and complete messages come
 * out. Comments (heartbeats) and `retry:` are dropped. `readEventStream` is the connection around
 * it that every stream of the app shares: the session cookie goes along, a dropped or refused
 * stream is opened again with backoff (at least as long as a `Retry-After` asks), and a refusal
 * that will not change (400, 401, 403, 404) ends it.
 */
import { parseRetryAfter } from './api/error';
import { backoffDelay, sleep as wait, type BackoffOptions } from './backoff';

/**
 * A message's data as a JSON object (arrays included), or null when it is not one: a bad event
 * must not break the page.
 */
export function jsonObject(data: string): Record<string, unknown> | null {
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    return null;
  }
  return payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : null;
}

export interface SseMessage {
  /** The `event:` field, `message` when there was none. */
  event: string;
  /** The `data:` lines joined with newlines. */
  data: string;
  /** The last `id:` seen, if any. */
  lastEventId: string;
}

export class SseParser {
  private buffer = '';
  private started = false;
  private afterCr = false;
  private event = '';
  private data: string[] = [];
  private lastEventId = '';

  /** Feeds decoded text; returns the messages it completed, in order. */
  push(text: string): SseMessage[] {
    if (text === '') return [];
    // A CR that ended the last chunk may be the first half of a CRLF.
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1);
    this.afterCr = false;
    this.buffer += text;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.startsWith('\uFEFF')) this.buffer = this.buffer.slice(1);
    }
    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i += 1) {
      const ch = this.buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      const message = this.line(this.buffer.slice(start, i));
      if (message) messages.push(message);
      if (ch === '\r') {
        if (i + 1 === this.buffer.length) this.afterCr = true;
        else if (this.buffer[i + 1] === '\n') i += 1;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      default:
        // `retry` and unknown fields are ignored.
        break;
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    if (data.length === 0) return null;
    return { event: event || 'message', data: data.join('\n'), lastEventId: this.lastEventId };
  }
}

/** Statuses a stream is not asked for again: the request itself is wrong, or is not allowed. */
export const FINAL_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404]);

const RECONNECT: BackoffOptions = { baseMs: 1000, maxMs: 30_000 };

export interface EventStreamHandlers {
  /** The URL to open, asked again before every reconnect. */
  url(): string;
  /** Whether to go on (checked before each connect and after each chunk); always by default. */
  wanted?(): boolean;
  /** A connection is being opened (before the request is sent). */
  onConnecting?(): void;
  /** A connection was answered 200: its messages follow. */
  onOpen?(): void;
  onMessage(message: SseMessage): void;
  /** The connection ended, whichever way. */
  onClose?(): void;
  /** The server refused the stream for good (see {@link FINAL_STATUSES}): nothing is tried again. */
  onRefused?(status: number): void;
}

export interface EventStreamOptions {
  fetch?: typeof fetch;
  /** Waits `ms`, rejecting when `signal` fires. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * Reads an event stream until `signal` fires, `wanted()` turns false or the server refuses it for
 * good, reconnecting with backoff in between. Resolves when it is over; never rejects.
 */
export async function readEventStream(
  handlers: EventStreamHandlers,
  signal: AbortSignal,
  options: EventStreamOptions = {},
): Promise<void> {
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const sleepImpl = options.sleep ?? wait;
  const wanted = () => !signal.aborted && (handlers.wanted?.() ?? true);
  for (let attempt = 0; wanted(); ) {
    let waitAtLeast = 0;
    handlers.onConnecting?.();
    try {
      const response = await fetchImpl(handlers.url(), {
        headers: { Accept: 'text/event-stream' },
        credentials: 'same-origin',
        cache: 'no-store',
        signal,
      });
      if (FINAL_STATUSES.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        if (!signal.aborted) handlers.onRefused?.(response.status);
        return;
      }
      if (response.ok && response.body) {
        attempt = 0;
        handlers.onOpen?.();
        await readMessages(response.body, handlers, wanted);
      } else {
        waitAtLeast = Math.min(parseRetryAfter(response.headers.get('Retry-After')) ?? 0, 300_000);
        await response.body?.cancel().catch(() => undefined);
      }
    } catch {
      // A dropped connection or a network error: tried again below.
    } finally {
      handlers.onClose?.();
    }
    if (!wanted()) return;
    const delay = Math.max(waitAtLeast, backoffDelay(attempt, RECONNECT, options.random));
    attempt += 1;
    try {
      await sleepImpl(delay, signal);
    } catch {
      return;
    }
  }
}

/** Hands every message of `body` on until it ends or is no longer wanted. */
async function readMessages(body: ReadableStream<Uint8Array>, handlers: EventStreamHandlers, wanted: () => boolean): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const message of parser.push(decoder.decode(value, { stream: true }))) {
        if (!wanted()) return;
        handlers.onMessage(message);
      }
      if (!wanted()) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
