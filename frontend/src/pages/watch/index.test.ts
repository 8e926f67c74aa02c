/** Watch page lifecycle against a stand-in player: live/offline/ended, heartbeat, quality menu, events. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlayerCallbacks } from '../../player/player';
import { apiError, byTestId, FakeEventSource, json, room, stubApi } from '../../test-support';
import { watchPage } from './index';

// The real player needs Media Source Extensions; the page is tested against a stand-in that
// records what the page asks of it and lets the test play hls.js's part.
const players = vi.hoisted(() => [] as FakePlayerShape[]);
interface FakePlayerShape {
  src: string;
  callbacks: PlayerCallbacks;
  starts: number;
  levels: number[];
  destroyed: boolean;
  exposed: boolean;
}
vi.mock('../../player/player', () => ({
  LivePlayer: class {
    static isSupported = () => true;
    state: FakePlayerShape;
    constructor(_video: HTMLVideoElement, src: string, callbacks: PlayerCallbacks, options: { exposeForTests?: boolean } = {}) {
      this.state = { src, callbacks, starts: 0, levels: [], destroyed: false, exposed: !!options.exposeForTests };
      players.push(this.state);
    }
    start() {
      this.state.starts++;
    }
    setLevel(index: number) {
      this.state.levels.push(index);
    }
    destroy() {
      this.state.destroyed = true;
    }
  },
}));

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;
let live: boolean;
let viewers: number;
/** Viewer tokens the stand-in rooms issued so far. */
let issued: number;

function mount(username = 'alice') {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  watchPage(root, page.signal, username);
}

function serve() {
  return stubApi((method, url, body) => {
    if (method === 'GET' && url === '/api/rooms/alice')
      return live ? json(room('alice', { title: 'Cooking', viewers })) : apiError(404, 'not_found', 'offline');
    if (method === 'POST' && url === '/api/rooms/alice/viewers') {
      if (!live) return apiError(404, 'not_found', 'offline');
      // Like rooms: a heartbeat without a token gets a fresh one, a valid one is kept.
      const sent = (body as { viewer_token?: string }).viewer_token;
      return json({ viewers, viewer_token: sent ?? `tok-${++issued}` });
    }
    return apiError(404, 'not_found', 'no route');
  });
}

const ended = () => byTestId(root, 'stream-ended');
const badge = () => byTestId(root, 'live-badge');

beforeEach(() => {
  players.length = 0;
  FakeEventSource.reset();
  vi.stubGlobal('EventSource', FakeEventSource);
  sessionStorage.clear();
  live = true;
  viewers = 4;
  issued = 0;
});

afterEach(() => {
  page.abort();
  vi.unstubAllGlobals();
  globalThis.fetch = realFetch;
  vi.useRealTimers();
});

describe('watch page', () => {
  it('plays a live room: player on its HLS URL, LIVE badge, title, viewers, heartbeat', async () => {
    const api = serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    const player = players[0]!;
    expect(player.src).toBe('/hls/alice/master.m3u8');
    expect(player.starts).toBe(1);
    expect(player.exposed).toBe(true);
    expect(badge().hidden).toBe(false);
    expect(ended().hidden).toBe(true);
    expect(byTestId(root, 'room-title').textContent).toBe('Cooking');
    await vi.waitFor(() => expect(api.calls.some((c) => c.method === 'POST')).toBe(true));
    const beat = api.calls.find((c) => c.method === 'POST')!;
    expect(beat.url).toBe('/api/rooms/alice/viewers');
    // No id of its own: the first heartbeat asks for one, the answer's token is kept.
    expect(beat.body).toEqual({});
    await vi.waitFor(() => expect(byTestId(root, 'viewer-count').textContent).toBe('4 viewers'));
    expect(sessionStorage.getItem('ferrocast.viewer_token.alice')).toBe('tok-1');
  });

  it('sends the heartbeat every 10 s with the token it was issued and shows the count it returns', async () => {
    vi.useFakeTimers();
    const api = serve();
    mount();
    await vi.advanceTimersByTimeAsync(0);
    viewers = 11;
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    const beats = api.calls.filter((c) => c.method === 'POST').map((b) => b.body);
    expect(beats).toEqual([{}, { viewer_token: 'tok-1' }, { viewer_token: 'tok-1' }]);
    expect(byTestId(root, 'viewer-count').textContent).toBe('11 viewers');

    // A reload of the tab is the same viewer: it starts with the stored token.
    page.abort();
    mount();
    await vi.advanceTimersByTimeAsync(0);
    const after = api.calls.filter((c) => c.method === 'POST').map((b) => b.body);
    expect(after.slice(3)).toEqual([{ viewer_token: 'tok-1' }]);
    expect(issued).toBe(1);
  });

  it('says offline for a room that is not live, sends no heartbeat, and plays when it starts', async () => {
    live = false;
    const api = serve();
    mount();
    await vi.waitFor(() => expect(ended().hidden).toBe(false));
    expect(ended().textContent).toContain('Offline');
    expect(badge().hidden).toBe(true);
    expect(players).toHaveLength(0);

    live = true;
    FakeEventSource.latest().emit('room_started', room('alice', { title: 'Back again' }));
    await vi.waitFor(() => expect(players).toHaveLength(1));
    expect(ended().hidden).toBe(true);
    expect(badge().hidden).toBe(false);
    expect(byTestId(root, 'room-title').textContent).toBe('Back again');
    await vi.waitFor(() => expect(api.calls.some((c) => c.method === 'POST')).toBe(true));
  });

  it('shows "Stream ended" without a reload when room_ended arrives, and stops the player', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    FakeEventSource.latest().emit('room_ended', { username: 'bob' });
    expect(ended().hidden).toBe(true);
    FakeEventSource.latest().emit('room_ended', { username: 'alice' });
    expect(ended().hidden).toBe(false);
    expect(ended().textContent).toContain('Stream ended');
    expect(badge().hidden).toBe(true);
    expect(players[0]!.destroyed).toBe(true);
  });

  it('treats a playlist 404 as "not written yet" while the room API still says live', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    players[0]!.callbacks.onNotFound?.();
    await new Promise((r) => setTimeout(r, 10));
    expect(ended().hidden).toBe(true);
    expect(players[0]!.destroyed).toBe(false);
  });

  it('shows "Stream ended" when a playlist 404 is confirmed by the room API', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    live = false;
    players[0]!.callbacks.onNotFound?.();
    await vi.waitFor(() => expect(ended().hidden).toBe(false));
    expect(ended().textContent).toContain('Stream ended');
    expect(players[0]!.destroyed).toBe(true);
  });

  it('notices the end through the heartbeat when the event stream is down', async () => {
    vi.useFakeTimers();
    serve();
    mount();
    await vi.advanceTimersByTimeAsync(0);
    live = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ended().hidden).toBe(false);
    live = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ended().hidden).toBe(true);
    expect(players).toHaveLength(2);
  });

  it('builds the quality menu from the levels and switches level on selection', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    players[0]!.callbacks.onLevels?.([
      { height: 360, bitrate: 800_000 },
      { height: 720, bitrate: 2_800_000 },
    ]);
    const select = byTestId<HTMLSelectElement>(root, 'quality-select');
    expect([...select.options].map((o) => o.textContent)).toEqual(['Auto', '720p', '360p']);
    expect(select.value).toBe('-1');
    expect(select.disabled).toBe(false);

    select.value = [...select.options].find((o) => o.textContent === '360p')!.value;
    select.dispatchEvent(new Event('change'));
    select.value = '-1';
    select.dispatchEvent(new Event('change'));
    expect(players[0]!.levels).toEqual([0, -1]);

    players[0]!.callbacks.onLevelSwitched?.(360);
    expect(byTestId(root, 'current-quality').textContent).toBe('Playing 360p');
  });

  it('updates title and viewers from events', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    const events = FakeEventSource.latest();
    events.emit('title_changed', { username: 'alice', title: 'Dessert' });
    events.emit('viewers_changed', { username: 'alice', viewers: 42 });
    events.emit('viewers_changed', { username: 'bob', viewers: 1 });
    expect(byTestId(root, 'room-title').textContent).toBe('Dessert');
    expect(byTestId(root, 'viewer-count').textContent).toBe('42 viewers');
  });

  it('reloads the player for a new session', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    FakeEventSource.latest().emit('room_started', room('alice', { started_at: '2026-01-01T13:00:00Z' }));
    expect(players[0]!.starts).toBe(2);
  });

  it('toggles mute with the Unmute button', async () => {
    serve();
    mount();
    const video = byTestId<HTMLVideoElement>(root, 'video');
    const button = byTestId<HTMLButtonElement>(root, 'unmute');
    video.muted = true;
    button.click();
    expect(video.muted).toBe(false);
    video.dispatchEvent(new Event('volumechange'));
    expect(button.textContent).toBe('Mute');
  });

  it('stops the player and the event subscription when the page is left', async () => {
    serve();
    mount();
    await vi.waitFor(() => expect(players).toHaveLength(1));
    const events = FakeEventSource.latest();
    page.abort();
    expect(players[0]!.destroyed).toBe(true);
    expect(events.closed).toBe(true);
  });
});
