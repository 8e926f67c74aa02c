/** "Your devices": the account's sessions and waiting requests, ended from here, kept live by the event stream. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlaybackList } from '../api/types';
import { setUser } from '../session';
import { allByTestId, byTestId, json, SseStream, stubApi } from '../test-support';
import { devicesPage } from './devices';

const realFetch = globalThis.fetch;
const user = { id: 'u1', username: 'alice', email: 'a@example.com', created_at: '2026-01-01T00:00:00Z' };
const now = Date.now();
const playing = { session_id: 's1', media_id: 'm1', device: 'Chrome on Linux', title: 'Harbour', started_at_ms: now - 5 * 60_000, expires_at_ms: now + 30_000, token: 't' };
const waiting = { request_id: 'r2', media_id: 'm2', device: 'Safari on iOS', title: 'Ferry', position: 1 };

let root: HTMLElement;
let page: AbortController;
let stream: SseStream;
let state: PlaybackList;
let api: ReturnType<typeof stubApi>;

beforeEach(() => {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  history.replaceState(null, '', '/devices');
  stream = new SseStream();
  state = { sessions: [playing], queued: [waiting] };
  setUser(user);
  api = stubApi((method, url) => {
    if (url === '/api/playback/events') return stream.response();
    if (method === 'GET' && url === '/api/playback') return json(state);
    if (method === 'DELETE') return new Response(null, { status: 204 });
    return json({ error: { code: 'not_found', message: 'no' } }, 404);
  });
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
});

const rows = () => [...allByTestId(root, 'device-session'), ...allByTestId(root, 'device-queued')];

describe('devices page', () => {
  it('lists what plays and what waits, each linking to its video', async () => {
    devicesPage(root, page.signal);
    await vi.waitFor(() => expect(rows()).toHaveLength(2));
    const [session, queued] = rows();
    expect(session!.dataset.id).toBe('s1');
    expect(session!.textContent).toContain('Chrome on Linux · started 5 min ago');
    expect(byTestId(session!, 'device-title').getAttribute('href')).toBe('/videos/m1');
    expect(byTestId(session!, 'device-state').textContent).toBe('Playing');
    expect(queued!.dataset.id).toBe('r2');
    expect(byTestId(queued!, 'device-state').textContent).toBe('Waiting: number 1');
    expect(byTestId(root, 'devices-empty').hidden).toBe(true);
  });

  it('ends a session with DELETE and shows the list without it', async () => {
    devicesPage(root, page.signal);
    await vi.waitFor(() => expect(rows()).toHaveLength(2));
    state = { sessions: [], queued: [waiting] };
    byTestId<HTMLButtonElement>(rows()[0]!, 'device-end').click();
    await vi.waitFor(() => expect(rows().map((r) => r.dataset.id)).toEqual(['r2']));
    expect(api.calls.some((c) => c.method === 'DELETE' && c.url === '/api/playback/s1')).toBe(true);
  });

  it('follows the event stream: a snapshot replaces the list, other events fetch it again', async () => {
    devicesPage(root, page.signal);
    await vi.waitFor(() => expect(rows()).toHaveLength(2));
    stream.send(`event: snapshot\ndata: ${JSON.stringify({ sessions: [], queued: [] })}\n\n`);
    await vi.waitFor(() => expect(byTestId(root, 'devices-empty').hidden).toBe(false));
    state = { sessions: [{ ...playing, session_id: 's3' }], queued: [] };
    stream.send(`event: granted\ndata: ${JSON.stringify({ request_id: 's3', media_id: 'm1', expires_at_ms: now, token: 't' })}\n\n`);
    await vi.waitFor(() => expect(rows().map((r) => r.dataset.id)).toEqual(['s3']));
  });
});
