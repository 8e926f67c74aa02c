/** Live processing progress: one fetch-read SSE stream per page, reopened with backoff, closed when nothing is left. */
import { describe, expect, it, vi } from 'vitest';
import type { Media, Processing, ProgressEvent } from '../api/types';
import { SseStream } from '../test-support';
import { MAX_FOLLOWED, parseProgressEvent, ProgressFollower, stillProcessing } from './progress';

function record(status: Processing['status'], percent = 0): Processing {
  return {
    status,
    percent,
    attempts: 1,
    renditions: [],
    queued_at: '2026-01-01T00:00:00Z',
  };
}

function event(id: string, processing: Processing | null): string {
  return `event: processing\ndata: ${JSON.stringify({ id, processing })}\n\n`;
}

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch answering each call with the next of `answers` (a stream, or a status). */
function fakeServer(answers: (SseStream | { status: number; retryAfter?: string })[]) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    const answer = answers.shift();
    if (!answer) throw new TypeError('no more answers');
    if (answer instanceof SseStream) {
      init?.signal?.addEventListener('abort', () => answer.fail(), { once: true });
      return answer.response();
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (answer.retryAfter) headers['Retry-After'] = answer.retryAfter;
    return new Response('{"error":{"code":"x","message":"x"}}', { status: answer.status, headers });
  });
  return { calls, fetch: fetch as unknown as typeof globalThis.fetch };
}

function follower(server: ReturnType<typeof fakeServer>) {
  const updates: ProgressEvent[] = [];
  const sleeps: number[] = [];
  const progress = new ProgressFollower({
    onUpdate: (e) => updates.push(e),
    fetch: server.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
  });
  return { progress, updates, sleeps };
}

describe('parseProgressEvent', () => {
  it('takes an id with its processing, or with none yet, and nothing else', () => {
    expect(parseProgressEvent(JSON.stringify({ id: 'a', processing: record('PENDING') }))).toEqual({
      id: 'a',
      processing: record('PENDING'),
    });
    expect(parseProgressEvent('{"id":"a","processing":null}')).toEqual({ id: 'a', processing: null });
    for (const junk of ['', 'nope', '[]', '{"processing":null}', '{"id":"a","processing":3}', '{"id":"a","processing":{"status":"DONE"}}']) {
      expect(parseProgressEvent(junk), junk).toBeNull();
    }
  });
});

describe('stillProcessing', () => {
  const video = { kind: 'video', status: 'uploaded' } as Media;
  it('is a video past its upload that is not DONE or FAILED', () => {
    expect(stillProcessing({ ...video, processing: record('IN PROGRESS', 5) })).toBe(true);
    expect(stillProcessing({ ...video, processing: null })).toBe(true);
    expect(stillProcessing({ ...video, processing: record('DONE', 100) })).toBe(false);
    expect(stillProcessing({ ...video, processing: record('FAILED') })).toBe(false);
    expect(stillProcessing({ ...video, status: 'awaiting_upload' })).toBe(false);
    expect(stillProcessing({ ...video, kind: 'image' })).toBe(false);
  });
});

describe('ProgressFollower', () => {
  it('asks for the items with the session cookie and hands every event on, however the stream is cut', async () => {
    const stream = new SseStream();
    const server = fakeServer([stream]);
    const { progress, updates } = follower(server);
    progress.follow(['a', 'b', 'a']);
    await vi.waitFor(() => expect(server.calls).toHaveLength(1));
    expect(server.calls[0]!.url).toBe('/api/media/progress?ids=a,b');
    expect(server.calls[0]!.init.credentials).toBe('same-origin');
    const text = ':subscribed\n\n' + event('a', null) + ': heartbeat\n\n' + event('b', record('IN PROGRESS', 40));
    stream.send(text.slice(0, 30));
    stream.send(text.slice(30, 95));
    stream.send(text.slice(95));
    await vi.waitFor(() => expect(updates).toHaveLength(2));
    expect(updates).toEqual([
      { id: 'a', processing: null },
      { id: 'b', processing: record('IN PROGRESS', 40) },
    ]);
    progress.stop();
  });

  it('closes the stream once every followed item is DONE or FAILED', async () => {
    const stream = new SseStream();
    const server = fakeServer([stream]);
    const { progress, updates } = follower(server);
    progress.follow(['a', 'b']);
    await vi.waitFor(() => expect(server.calls).toHaveLength(1));
    stream.send(event('a', record('DONE', 100)));
    await vi.waitFor(() => expect(updates).toHaveLength(1));
    expect(progress.following).toEqual(['b']);
    expect(server.calls[0]!.init.signal!.aborted).toBe(false);
    stream.send(event('b', record('FAILED')));
    await vi.waitFor(() => expect(server.calls[0]!.init.signal!.aborted).toBe(true));
    expect(progress.following).toEqual([]);
    expect(server.calls).toHaveLength(1);
  });

  it('opens the stream again with backoff when it drops, for the items still processing', async () => {
    const first = new SseStream();
    const second = new SseStream();
    const server = fakeServer([first, second]);
    const { progress, sleeps } = follower(server);
    progress.follow(['a', 'b']);
    await vi.waitFor(() => expect(server.calls).toHaveLength(1));
    first.send(event('a', record('DONE', 100)));
    first.end();
    await vi.waitFor(() => expect(server.calls).toHaveLength(2));
    expect(sleeps).toEqual([1000]);
    expect(server.calls[1]!.url).toBe('/api/media/progress?ids=b');
    progress.stop();
    expect(server.calls[1]!.init.signal!.aborted).toBe(true);
  });

  it('waits as long as a busy server asks, and gives up on a request it refuses', async () => {
    const server = fakeServer([{ status: 503, retryAfter: '5' }, { status: 502 }, { status: 400 }]);
    const { progress, sleeps } = follower(server);
    progress.follow(['a']);
    await vi.waitFor(() => expect(server.calls).toHaveLength(3));
    expect(sleeps).toEqual([5000, 2000]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.calls).toHaveLength(3);
  });

  it('keeps the stream for the same items, replaces it for others and closes it for none', async () => {
    const first = new SseStream();
    const second = new SseStream();
    const server = fakeServer([first, second]);
    const { progress } = follower(server);
    progress.follow(['a', 'b']);
    progress.follow(['b', 'a']);
    await vi.waitFor(() => expect(server.calls).toHaveLength(1));
    progress.follow(['c']);
    await vi.waitFor(() => expect(server.calls).toHaveLength(2));
    expect(server.calls[0]!.init.signal!.aborted).toBe(true);
    expect(server.calls[1]!.url).toBe('/api/media/progress?ids=c');
    progress.follow([]);
    expect(server.calls[1]!.init.signal!.aborted).toBe(true);
  });

  it('follows at most as many items as one stream may carry', async () => {
    const server = fakeServer([new SseStream()]);
    const { progress } = follower(server);
    progress.follow(Array.from({ length: MAX_FOLLOWED + 10 }, (_, i) => `m${i}`));
    await vi.waitFor(() => expect(server.calls).toHaveLength(1));
    expect(new URL(server.calls[0]!.url, 'http://x').searchParams.get('ids')!.split(',')).toHaveLength(MAX_FOLLOWED);
    progress.stop();
  });
});
