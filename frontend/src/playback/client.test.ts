/**
 * The playback client against a scripted server: requests wait for the stream, decisions are
 * matched by request id whenever they come, and what a dropped stream lost is found again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SseStream } from '../test-support';
import { PlaybackClient } from './client';

interface Call {
  method: string;
  url: string;
  body: unknown;
}

type Answer = Response | ((call: Call) => Response | Promise<Response>);

const realFetch = globalThis.fetch;
let calls: Call[];
let streams: SseStream[];
let answers: Map<string, Answer[]>;
let page: AbortController;

function answer(method: string, url: string, ...responses: Answer[]) {
  answers.set(`${method} ${url}`, [...(answers.get(`${method} ${url}`) ?? []), ...responses]);
}

/** A new event stream for the next connection. */
function nextStream(): SseStream {
  const stream = new SseStream();
  streams.push(stream);
  return stream;
}

function send(stream: SseStream, event: string, data: unknown) {
  stream.send(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const empty = { sessions: [], queued: [] };

beforeEach(() => {
  calls = [];
  streams = [];
  answers = new Map();
  page = new AbortController();
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = { method: init?.method ?? 'GET', url: String(input), body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined };
    calls.push(call);
    if (call.url === '/api/playback/events') {
      const stream = streams.find((s) => !(s as unknown as { used?: boolean }).used);
      if (!stream) throw new TypeError('no stream');
      (stream as unknown as { used?: boolean }).used = true;
      init?.signal?.addEventListener('abort', () => stream.fail(), { once: true });
      return stream.response();
    }
    const queue = answers.get(`${call.method} ${call.url}`);
    const next = queue?.shift();
    if (!next) return new Response(null, { status: call.method === 'DELETE' ? 204 : 500 });
    return typeof next === 'function' ? next(call) : next;
  }) as typeof fetch;
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
});

function client(resyncMs = 60_000) {
  return new PlaybackClient(page.signal, { device: 'Chrome on Linux', sleep: async () => undefined, random: () => 0, resyncMs });
}

const posts = () => calls.filter((c) => c.method === 'POST' && c.url === '/api/playback');

describe('PlaybackClient', () => {
  it('asks only once the stream listens, with the video, the device and whether to wait', async () => {
    const stream = nextStream();
    answer('POST', '/api/playback', json({ request_id: 'r1' }, 202));
    const playback = client();
    const decision = playback.request('m1', { wait: true });
    await new Promise((r) => setTimeout(r, 10));
    expect(posts()).toHaveLength(0);
    send(stream, 'snapshot', empty);
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    expect(posts()[0]!.body).toEqual({ media_id: 'm1', device: 'Chrome on Linux', wait: true });
    send(stream, 'granted', { request_id: 'r1', media_id: 'm1', expires_at_ms: 99, token: 'tok' });
    await expect(decision).resolves.toEqual({ kind: 'granted', requestId: 'r1', mediaId: 'm1', expiresAtMs: 99, token: 'tok' });
  });

  it('takes a decision that is pushed before the 202 answers, and ignores other devices’', async () => {
    const stream = nextStream();
    send(stream, 'snapshot', empty);
    answer('POST', '/api/playback', () => {
      send(stream, 'denied', { request_id: 'someone-else', reason: 'limit', active: [] });
      send(stream, 'denied', { request_id: 'r1', reason: 'limit', active: [] });
      // The 202 leaves after the events have been read.
      return new Promise((resolve) => setTimeout(() => resolve(json({ request_id: 'r1' }, 202)), 20));
    });
    const decision = await client().request('m1');
    expect(decision).toEqual({ kind: 'denied', requestId: 'r1', reason: 'limit', active: [] });
  });

  it('tells each place in line, then resolves with the grant', async () => {
    const stream = nextStream();
    send(stream, 'snapshot', empty);
    answer('POST', '/api/playback', json({ request_id: 'r1' }, 202));
    const places: number[] = [];
    const decision = client().request('m1', { wait: true, onQueued: (p) => places.push(p) });
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 5));
    send(stream, 'queued', { request_id: 'r1', position: 2 });
    send(stream, 'queued', { request_id: 'r1', position: 1 });
    await vi.waitFor(() => expect(places).toEqual([2, 1]));
    send(stream, 'granted', { request_id: 'r1', media_id: 'm1', expires_at_ms: 99, token: 'tok' });
    await expect(decision).resolves.toMatchObject({ kind: 'granted', token: 'tok' });
  });

  it('finds a grant it missed while the stream was down in the next snapshot', async () => {
    const first = nextStream();
    const second = nextStream();
    send(first, 'snapshot', empty);
    answer('POST', '/api/playback', json({ request_id: 'r1' }, 202));
    const decision = client().request('m1', { wait: true });
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 5));
    first.end();
    await vi.waitFor(() => expect(calls.filter((c) => c.url === '/api/playback/events')).toHaveLength(2));
    send(second, 'snapshot', {
      sessions: [{ session_id: 'r1', media_id: 'm1', device: 'd', title: 't', started_at_ms: 1, expires_at_ms: 99, token: 'tok' }],
      queued: [],
    });
    await expect(decision).resolves.toMatchObject({ kind: 'granted', requestId: 'r1', token: 'tok' });
  });

  it('asks again when a dropped stream lost the decision', async () => {
    const first = nextStream();
    const second = nextStream();
    send(first, 'snapshot', empty);
    answer('POST', '/api/playback', json({ request_id: 'r1' }, 202), json({ request_id: 'r2' }, 202));
    const decision = client().request('m1');
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 5));
    first.end();
    await vi.waitFor(() => expect(calls.filter((c) => c.url === '/api/playback/events')).toHaveLength(2));
    send(second, 'snapshot', empty);
    await vi.waitFor(() => expect(posts()).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 5));
    send(second, 'granted', { request_id: 'r2', media_id: 'm1', expires_at_ms: 99, token: 'tok2' });
    await expect(decision).resolves.toMatchObject({ kind: 'granted', requestId: 'r2' });
    // Should the lost one have been granted after all, it holds no slot.
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/playback/r1')).toBe(true);
  });

  it('asks the list where a request stands when nothing is heard after the 202', async () => {
    const stream = nextStream();
    send(stream, 'snapshot', empty);
    answer('POST', '/api/playback', json({ request_id: 'r1' }, 202));
    answer('GET', '/api/playback', json({ sessions: [], queued: [{ request_id: 'r1', media_id: 'm1', device: 'd', title: 't', position: 4 }] }));
    const places: number[] = [];
    client(20).request('m1', { wait: true, onQueued: (p) => places.push(p) }).catch(() => undefined);
    await vi.waitFor(() => expect(places).toEqual([4]));
    expect(calls.filter((c) => c.method === 'GET' && c.url === '/api/playback')).toHaveLength(1);
  });

  it('withdraws a request whose signal fires, and rejects it', async () => {
    const stream = nextStream();
    send(stream, 'snapshot', empty);
    answer('POST', '/api/playback', json({ request_id: 'r1' }, 202));
    const cancel = new AbortController();
    const accepted: string[] = [];
    const decision = client().request('m1', { wait: true, signal: cancel.signal, onAccepted: (id) => accepted.push(id) });
    await vi.waitFor(() => expect(accepted).toEqual(['r1']));
    cancel.abort();
    await expect(decision).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/playback/r1')).toBe(true));
  });

  it('rejects requests for good when the stream is refused', async () => {
    streams.push(new SseStream());
    globalThis.fetch = (async () => json({ error: { code: 'unauthorized', message: 'no' } }, 401)) as typeof fetch;
    await expect(client().request('m1')).rejects.toMatchObject({ status: 401 });
  });

  it('hands every event to subscribers after its own requests', async () => {
    const stream = nextStream();
    const seen: string[] = [];
    client().subscribe((event) => seen.push(event.type));
    send(stream, 'snapshot', empty);
    send(stream, 'ended', { session_id: 's', reason: 'lapsed' });
    await vi.waitFor(() => expect(seen).toEqual(['snapshot', 'ended']));
  });
});
