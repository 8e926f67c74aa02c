/**
 * The video page with playback sessions, against a scripted catalogue and a stand-in player: no
 * player without a session, the token handed to the player, the denied dialog, waiting in line,
 * and a session ended elsewhere.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Media } from '../../api/types';
import type { PlayerOptions } from '../../player/player';
import { setUser } from '../../session';
import { allByTestId, byTestId, json, SseStream, stubApi } from '../../test-support';
import { videoPage } from '.';

interface FakePlayer {
  src: string;
  options: PlayerOptions;
  starts: number;
  destroyed: boolean;
}
const players = vi.hoisted(() => [] as FakePlayer[]);
vi.mock('../watch/player-loader', () => ({
  loadPlayer: async (_video: HTMLVideoElement, src: string, _callbacks: unknown, _wanted: unknown, options: PlayerOptions) => {
    const state: FakePlayer = { src, options, starts: 0, destroyed: false };
    players.push(state);
    return {
      player: {
        start: () => (state.starts += 1),
        setLevel: () => undefined,
        destroy: () => (state.destroyed = true),
      },
    };
  },
}));

const realFetch = globalThis.fetch;
const user = { id: 'u1', username: 'alice', email: 'a@example.com', created_at: '2026-01-01T00:00:00Z' };
const done = {
  status: 'DONE' as const,
  percent: 100,
  attempts: 1,
  renditions: ['360p'],
  queued_at: '2026-01-01T00:00:00Z',
  hls_url: '/api/media/m1/vod/j/master.m3u8',
  dash_url: '/api/media/m1/vod/j/manifest.mpd',
};
const clip: Media = {
  id: 'm1',
  kind: 'video',
  title: 'Harbour',
  description: '',
  tags: [],
  visibility: 'public',
  status: 'uploaded',
  content_type: 'video/mp4',
  size: 1000,
  owner: 'bob',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  processing: done,
};
const other = { session_id: 's-other', media_id: 'm9', device: 'Firefox on Windows', title: 'Ferry', started_at_ms: Date.now() - 120_000, expires_at_ms: Date.now() + 30_000 };

let root: HTMLElement;
let page: AbortController;
let stream: SseStream;
let media: Media;
let requestIds: string[];
let api: ReturnType<typeof stubApi>;

function send(event: string, data: unknown) {
  stream.send(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const posts = () => api.calls.filter((c) => c.method === 'POST' && c.url === '/api/playback');

/** Waits for the page's next playback request and answers it with `event`. */
async function decide(event: string, data: (requestId: string) => unknown, count: number) {
  await vi.waitFor(() => expect(posts()).toHaveLength(count));
  await new Promise((r) => setTimeout(r, 0));
  const id = requestIds[count - 1]!;
  send(event, data(id));
  return id;
}

const grant = (token: string) => (id: string) => ({ request_id: id, media_id: 'm1', expires_at_ms: Date.now() + 30_000, token });

beforeEach(() => {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  history.replaceState(null, '', '/videos/m1');
  players.length = 0;
  stream = new SseStream();
  media = clip;
  requestIds = [];
  setUser(user);
  api = stubApi((method, url) => {
    if (url === '/api/media/m1') return json(media);
    if (url === '/api/playback/events') return stream.response();
    if (method === 'POST' && url === '/api/playback') {
      const id = `r${requestIds.length + 1}`;
      requestIds.push(id);
      return json({ request_id: id }, 202);
    }
    if (method === 'DELETE') return new Response(null, { status: 204 });
    if (url.endsWith('/heartbeat')) return json({ expires_at_ms: Date.now() + 30_000 });
    return json({ error: { code: 'not_found', message: 'no' } }, 404);
  });
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
  document.querySelector('dialog')?.remove();
});

function open(kind: 'hls' | 'dash' = 'hls') {
  videoPage(root, page.signal, 'm1', kind);
  send('snapshot', { sessions: [], queued: [] });
}

describe('video page playback', () => {
  it('offers a visitor who is not signed in to sign in, and plays nothing', async () => {
    setUser(null);
    open();
    const prompt = await vi.waitFor(() => byTestId(root, 'sign-in-to-watch'));
    expect(prompt.querySelector('a')!.getAttribute('href')).toBe('/login?next=%2Fvideos%2Fm1');
    expect(prompt.textContent).toContain('Sign in to watch');
    expect(posts()).toHaveLength(0);
    expect(players).toHaveLength(0);
  });

  it('starts the player only once a session is granted, with its token', async () => {
    media = { ...clip, encryption: { key_id: 'k', licence_url: '/api/media/m1/licence', scheme: 'cbcs' } };
    open();
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    expect(posts()[0]!.body).toMatchObject({ media_id: 'm1', wait: false });
    expect(typeof (posts()[0]!.body as { device: string }).device).toBe('string');
    expect(players).toHaveLength(0);
    await decide('granted', grant('tok-1'), 1);
    await vi.waitFor(() => expect(players).toHaveLength(1));
    expect(players[0]!.options).toEqual({ playbackToken: 'tok-1', tokenOnEveryRequest: false, clearKeyLicenceUrl: '/api/media/m1/licence' });
    expect(players[0]!.starts).toBe(1);
  });

  it('sends the token with every file of a private video', async () => {
    media = { ...clip, visibility: 'private' };
    open();
    await decide('granted', grant('tok-1'), 1);
    await vi.waitFor(() => expect(players).toHaveLength(1));
    expect(players[0]!.options).toMatchObject({ playbackToken: 'tok-1', tokenOnEveryRequest: true });
  });

  it('lists the account’s sessions when denied; ending one asks again and plays', async () => {
    open();
    await decide('denied', (id) => ({ request_id: id, reason: 'limit', active: [other] }), 1);
    const dialog = await vi.waitFor(() => byTestId(document.body, 'playback-denied'));
    expect(dialog.querySelector('h2')!.textContent).toBe('This account already plays 1 video');
    const rows = allByTestId(dialog, 'denied-session');
    expect(rows.map((r) => r.dataset.sessionId)).toEqual(['s-other']);
    expect(rows[0]!.textContent).toContain('Ferry');
    expect(rows[0]!.textContent).toContain('Firefox on Windows · started 2 min ago');
    byTestId<HTMLButtonElement>(dialog, 'denied-end').click();
    await vi.waitFor(() => expect(api.calls.some((c) => c.method === 'DELETE' && c.url === '/api/playback/s-other')).toBe(true));
    expect(document.querySelector('dialog')).toBeNull();
    await decide('granted', grant('tok-2'), 2);
    expect((posts()[1]!.body as { wait: boolean }).wait).toBe(false);
    await vi.waitFor(() => expect(players).toHaveLength(1));
    expect(players[0]!.options.playbackToken).toBe('tok-2');
  });

  it('waits in line when asked to, says the place, and plays when the slot comes', async () => {
    open();
    await decide('denied', (id) => ({ request_id: id, reason: 'limit', active: [other] }), 1);
    byTestId<HTMLButtonElement>(await vi.waitFor(() => byTestId(document.body, 'playback-denied')), 'denied-wait').click();
    const id = await decide('queued', (r) => ({ request_id: r, position: 2 }), 2);
    expect((posts()[1]!.body as { wait: boolean }).wait).toBe(true);
    const status = byTestId(root, 'playback-status');
    await vi.waitFor(() => expect(status.textContent).toContain('Waiting for a free screen: you are number 2.'));
    send('queued', { request_id: id, position: 1 });
    await vi.waitFor(() => expect(status.textContent).toContain('you are number 1.'));
    expect(players).toHaveLength(0);
    send('granted', grant('tok-3')(id));
    await vi.waitFor(() => expect(players).toHaveLength(1));
    expect(status.hidden).toBe(true);
  });

  it('stops the player and says why when the session is ended elsewhere; Play again asks anew', async () => {
    open();
    const id = await decide('granted', grant('tok-1'), 1);
    await vi.waitFor(() => expect(players).toHaveLength(1));
    send('ended', { session_id: 'someone-else', reason: 'lapsed' });
    send('ended', { session_id: id, reason: 'ended_elsewhere' });
    const ended = await vi.waitFor(() => {
      const el = byTestId(root, 'playback-ended');
      expect(el.hidden).toBe(false);
      return el;
    });
    expect(players[0]!.destroyed).toBe(true);
    expect(ended.textContent).toContain('Playback ended: it was ended from another device');
    byTestId<HTMLButtonElement>(ended, 'play-again').click();
    await decide('granted', grant('tok-2'), 2);
    await vi.waitFor(() => expect(players).toHaveLength(2));
    expect(players[1]!.options.playbackToken).toBe('tok-2');
  });

  it('follows processing on the progress stream instead of asking again, and offers playback once it plays', async () => {
    const progress = new SseStream();
    const { hls_url: _hls, dash_url: _dash, ...early } = done;
    media = { ...clip, processing: { ...early, status: 'IN PROGRESS', percent: 10, renditions: [] } };
    api = stubApi((method, url) => {
      if (url === '/api/media/m1') return json(media);
      if (url === '/api/media/progress?ids=m1') return progress.response();
      if (url === '/api/playback/events') return stream.response();
      if (method === 'POST' && url === '/api/playback') return json({ request_id: 'r1' }, 202);
      return json({ error: { code: 'not_found', message: 'no' } }, 404);
    });
    videoPage(root, page.signal, 'm1');
    await vi.waitFor(() => expect(api.calls.some((c) => c.url === '/api/media/progress?ids=m1')).toBe(true));
    expect(posts()).toHaveLength(0);
    progress.send(`event: processing\ndata: ${JSON.stringify({ id: 'm1', processing: { ...done, status: 'IN PROGRESS', percent: 40 } })}\n\n`);
    await vi.waitFor(() => expect(api.calls.some((c) => c.url === '/api/playback/events')).toBe(true));
    send('snapshot', { sessions: [], queued: [] });
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    expect(api.calls.filter((c) => c.url === '/api/media/m1')).toHaveLength(1);
  });

  it('ends its session when the viewer navigates away', async () => {
    open();
    const id = await decide('granted', grant('tok-1'), 1);
    await vi.waitFor(() => expect(players).toHaveLength(1));
    page.abort();
    await vi.waitFor(() => expect(api.calls.some((c) => c.method === 'POST' && c.url === `/api/playback/${id}/stop`)).toBe(true));
    expect(players[0]!.destroyed).toBe(true);
  });
});
