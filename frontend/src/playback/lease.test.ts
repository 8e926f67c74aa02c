/** A granted session kept by heartbeats every third of its lease, ended by a 410 or an event. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, apiError, SseStream } from '../test-support';
import { PlaybackClient } from './client';
import { heartbeatEvery, Lease, releaseOnLeave } from './lease';

describe('heartbeatEvery', () => {
  it('is a third of the lease, the lease read within the server’s range', () => {
    expect(heartbeatEvery(31_000, 1000)).toBe(10_000);
    expect(heartbeatEvery(5000, 1000)).toBe(1333);
    // A clock far ahead or behind the server's.
    expect(heartbeatEvery(1000, 50_000)).toBe(666);
    expect(heartbeatEvery(10_000_000, 0)).toBe(200_000);
  });

  it('trusts the lease the grant names over this clock', () => {
    // The device's clock is an hour ahead: expires_at_ms looks long past.
    expect(heartbeatEvery(31_000, 3_600_000, 30_000)).toBe(10_000);
    expect(heartbeatEvery(31_000, 1000, 1_000_000)).toBe(200_000);
  });
});

describe('Lease', () => {
  const realFetch = globalThis.fetch;
  let page: AbortController;
  let stream: SseStream;
  let calls: { method: string; url: string }[];
  let heartbeat: () => Response;

  beforeEach(() => {
    page = new AbortController();
    stream = new SseStream();
    calls = [];
    heartbeat = () => json({ expires_at_ms: 0 });
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const call = { method: init?.method ?? 'GET', url: String(input) };
      calls.push(call);
      if (call.url === '/api/playback/events') return stream.response();
      if (call.url.endsWith('/heartbeat')) return heartbeat();
      return new Response(null, { status: 204 });
    }) as typeof fetch;
  });

  afterEach(() => {
    page.abort();
    globalThis.fetch = realFetch;
    vi.useRealTimers();
  });

  const grant = { kind: 'granted' as const, requestId: 's1', mediaId: 'm1', expiresAtMs: 4000, token: 'tok' };
  const beats = () => calls.filter((c) => c.url === '/api/playback/s1/heartbeat').length;

  it('beats every third of the lease until a 410 ends it', async () => {
    vi.useFakeTimers();
    const client = new PlaybackClient(page.signal, { device: 'd' });
    const ended: (string | null)[] = [];
    new Lease(client, grant, { onEnded: (reason) => ended.push(reason), now: () => 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(beats()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(beats()).toBe(2);
    heartbeat = () => apiError(410, 'session_ended', 'over');
    await vi.advanceTimersByTimeAsync(1000);
    expect(ended).toEqual([null]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(beats()).toBe(3);
  });

  it('keeps beating through a failed heartbeat', async () => {
    vi.useFakeTimers();
    const client = new PlaybackClient(page.signal, { device: 'd' });
    const ended: (string | null)[] = [];
    new Lease(client, grant, { onEnded: (reason) => ended.push(reason), now: () => 1000 });
    heartbeat = () => apiError(503, 'unavailable', 'busy');
    await vi.advanceTimersByTimeAsync(2000);
    expect(beats()).toBe(2);
    expect(ended).toEqual([]);
  });

  it('ends on the session’s ended event with its reason, and stops beating', async () => {
    const client = new PlaybackClient(page.signal, { device: 'd' });
    const ended: (string | null)[] = [];
    new Lease(client, { ...grant, expiresAtMs: Date.now() + 600_000 }, { onEnded: (reason) => ended.push(reason) });
    stream.send('event: snapshot\ndata: {"sessions":[],"queued":[]}\n\n');
    stream.send('event: ended\ndata: {"session_id":"other","reason":"lapsed"}\n\n');
    stream.send('event: ended\ndata: {"session_id":"s1","reason":"ended_elsewhere"}\n\n');
    await vi.waitFor(() => expect(ended).toEqual(['ended_elsewhere']));
  });

  it('lets go with a stop when the page is left and with a beacon when the tab closes', async () => {
    const client = new PlaybackClient(page.signal, { device: 'd' });
    const beacon = vi.fn(() => true);
    vi.stubGlobal('navigator', { ...navigator, sendBeacon: beacon });
    let held: string | null = 's1';
    releaseOnLeave(client, page.signal, () => held);
    window.dispatchEvent(new Event('pagehide'));
    expect(beacon).toHaveBeenCalledWith('/api/playback/s1/stop');
    held = 's2';
    page.abort();
    await vi.waitFor(() => expect(calls).toContainEqual({ method: 'POST', url: '/api/playback/s2/stop' }));
    vi.unstubAllGlobals();
  });
});
