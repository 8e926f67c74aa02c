/**
 * Shared fixtures for the unit tests: a `Room` builder, a scriptable EventSource and a
 * server-sent event stream to answer a fetch with, so the events module, the progress streams
 * and the pages are driven without a server.
 */
import type { Room } from './api/types';
import type { EventSourceLike } from './events';

export function room(username: string, overrides: Partial<Room> = {}): Room {
  return {
    username,
    title: `${username}'s stream`,
    started_at: '2026-01-01T12:00:00Z',
    viewers: 0,
    renditions: [],
    thumbnail_url: null,
    hls_url: `/hls/${username}/master.m3u8`,
    ...overrides,
  };
}

type Handler = (ev: MessageEvent) => void;

export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;

  readyState = 0;
  closed = false;
  onopen: EventSourceLike['onopen'] = null;
  onerror: EventSourceLike['onerror'] = null;
  private readonly handlers = new Map<string, Handler[]>();

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error('no EventSource was created');
    return last;
  }

  static reset(): void {
    FakeEventSource.instances = [];
  }

  addEventListener(type: string, listener: Handler): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.call(this as unknown as EventSource, new Event('open'));
  }

  /** A dropped connection the browser will retry itself (readyState CONNECTING). */
  drop(): void {
    this.readyState = 0;
    this.onerror?.call(this as unknown as EventSource, new Event('error'));
  }

  /** A refused connection the browser gives up on (readyState CLOSED). */
  fail(): void {
    this.readyState = 2;
    this.onerror?.call(this as unknown as EventSource, new Event('error'));
  }

  emit(type: string, data: unknown): void {
    const event = new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data) });
    for (const h of this.handlers.get(type) ?? []) h(event);
  }
}

/**
 * A server-sent event stream a test writes to, as the body of a fetch answer: `send` text,
 * `end` it as a server would, `fail` it as an aborted request does. `cancelled` tells whether
 * the reader let go of it.
 */
export class SseStream {
  cancelled = false;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      this.controller = controller;
    },
    cancel: () => {
      this.cancelled = true;
    },
  });

  response(): Response {
    return new Response(this.body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  }

  send(text: string): void {
    this.controller.enqueue(new TextEncoder().encode(text));
  }

  /** One `processing` event. */
  progress(id: string, processing: unknown): void {
    this.send(`event: processing\ndata: ${JSON.stringify({ id, processing })}\n\n`);
  }

  end(): void {
    this.controller.close();
  }

  fail(): void {
    this.controller.error(new DOMException('aborted', 'AbortError'));
  }
}

export type ApiHandler = (method: string, url: string, body: unknown) => Response | Promise<Response>;

/** Replaces `fetch` with a router over (method, URL); records every call. */
export function stubApi(handler: ApiHandler): { calls: { method: string; url: string; body: unknown }[] } {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fetchMock = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({ method, url, body });
    if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return handler(method, url, body);
  };
  (globalThis as { fetch: typeof fetch }).fetch = fetchMock as typeof fetch;
  return { calls };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function apiError(status: number, code: string, message: string, fields?: Record<string, string>): Response {
  return json({ error: { code, message, ...(fields ? { fields } : {}) } }, status);
}

/** Text of the element with this test id inside `root` (throws when it is missing). */
export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no element with data-testid="${id}"`);
  return el;
}

export function allByTestId(root: ParentNode, id: string): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
}
