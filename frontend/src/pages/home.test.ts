/** Home page against a stubbed API and a scripted event stream: grid, live updates, resync, paging. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RoomPage } from '../api/types';
import { allByTestId, byTestId, FakeEventSource, json, room, stubApi } from '../test-support';
import { awaitsThumbnail, homePage } from './home';

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;

function mount() {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  homePage(root, page.signal);
}

const usernames = () => allByTestId(root, 'room-card').map((a) => a.dataset.username);

beforeEach(() => {
  FakeEventSource.reset();
  vi.stubGlobal('EventSource', FakeEventSource);
});

afterEach(() => {
  page.abort();
  vi.unstubAllGlobals();
  globalThis.fetch = realFetch;
  vi.useRealTimers();
});

describe('home page', () => {
  it('shows the live rooms from the API once the event stream is open', async () => {
    stubApi(() => json({ rooms: [room('bob', { viewers: 3, title: 'Speedrun' }), room('alice')], next_cursor: null }));
    mount();
    FakeEventSource.latest().open();
    await vi.waitFor(() => expect(usernames()).toEqual(['bob', 'alice']));

    const bob = allByTestId(root, 'room-card')[0]!;
    expect(bob.getAttribute('href')).toBe('/watch/bob');
    expect(byTestId(bob, 'room-title').textContent).toBe('Speedrun');
    expect(byTestId(bob, 'viewer-count').textContent).toBe('3 viewers');
    expect(byTestId(bob, 'live-for').textContent).toMatch(/^live for /);
    expect(byTestId(root, 'empty-state').hidden).toBe(true);
  });

  it('follows room events without reloading, keeping unchanged cards in place', async () => {
    const api = stubApi(() => json({ rooms: [room('bob'), room('alice')], next_cursor: null }));
    mount();
    const events = FakeEventSource.latest();
    events.open();
    await vi.waitFor(() => expect(usernames()).toEqual(['bob', 'alice']));
    const bobCard = allByTestId(root, 'room-card')[0]!;

    events.emit('room_started', room('carol', { title: 'Just started' }));
    expect(usernames()).toEqual(['carol', 'bob', 'alice']);

    events.emit('viewers_changed', { username: 'bob', viewers: 9 });
    expect(byTestId(bobCard, 'viewer-count').textContent).toBe('9 viewers');
    expect(allByTestId(root, 'room-card')[1]).toBe(bobCard);

    events.emit('title_changed', { username: 'bob', title: 'New title' });
    expect(byTestId(bobCard, 'room-title').textContent).toBe('New title');

    events.emit('room_ended', { username: 'alice' });
    expect(usernames()).toEqual(['carol', 'bob']);
    expect(api.calls.filter((c) => c.url.startsWith('/api/rooms'))).toHaveLength(1);
  });

  it('shows how to go live when nobody is live, and hides it when someone starts', async () => {
    stubApi(() => json({ rooms: [], next_cursor: null }));
    mount();
    const events = FakeEventSource.latest();
    events.open();
    const empty = byTestId(root, 'empty-state');
    await vi.waitFor(() => expect(empty.hidden).toBe(false));
    expect(empty.querySelector('a[href="/signup"]')).not.toBeNull();
    expect(empty.querySelector('a[href="/dashboard"]')).not.toBeNull();
    expect(empty.textContent).toContain(`rtmp://${location.hostname}:1935/live`);

    events.emit('room_started', room('dave'));
    expect(empty.hidden).toBe(true);
    expect(usernames()).toEqual(['dave']);
  });

  it('replays events that arrive while the list is loading', async () => {
    let answer!: (r: Response) => void;
    stubApi(() => new Promise<Response>((resolve) => (answer = resolve)));
    mount();
    const events = FakeEventSource.latest();
    events.open();
    await vi.waitFor(() => expect(answer).toBeTypeOf('function'));
    // The list was read before bob ended, but arrives after the event.
    events.emit('room_ended', { username: 'bob' });
    events.emit('viewers_changed', { username: 'alice', viewers: 5 });
    answer(json({ rooms: [room('bob'), room('alice')], next_cursor: null } satisfies RoomPage));
    await vi.waitFor(() => expect(usernames()).toEqual(['alice']));
    expect(byTestId(root, 'viewer-count').textContent).toBe('5 viewers');
  });

  it('reloads the list when the event stream reconnects, since events were missed', async () => {
    let rooms = [room('bob')];
    const api = stubApi(() => json({ rooms, next_cursor: null }));
    mount();
    const events = FakeEventSource.latest();
    events.open();
    await vi.waitFor(() => expect(usernames()).toEqual(['bob']));
    events.drop();
    expect(byTestId(root, 'events-status').hidden).toBe(false);
    rooms = [room('erin')];
    events.open();
    await vi.waitFor(() => expect(usernames()).toEqual(['erin']));
    expect(byTestId(root, 'events-status').hidden).toBe(true);
    expect(api.calls).toHaveLength(2);
  });

  it('still loads the list when the event stream never opens', async () => {
    vi.useFakeTimers();
    stubApi(() => json({ rooms: [room('bob')], next_cursor: null }));
    mount();
    await vi.advanceTimersByTimeAsync(2000);
    expect(usernames()).toEqual(['bob']);
  });

  it('pages with the cursor', async () => {
    const api = stubApi((_m, url) =>
      url.includes('cursor=')
        ? json({ rooms: [room('alice'), room('bob')], next_cursor: null })
        : json({ rooms: [room('bob')], next_cursor: 'c1' }),
    );
    mount();
    FakeEventSource.latest().open();
    const more = byTestId<HTMLButtonElement>(root, 'load-more');
    await vi.waitFor(() => expect(more.hidden).toBe(false));
    more.click();
    await vi.waitFor(() => expect(usernames()).toEqual(['bob', 'alice']));
    expect(api.calls.at(-1)!.url).toBe('/api/rooms?limit=24&cursor=c1');
    expect(more.hidden).toBe(true);
  });

  it('links each username to its channel, beside the card that opens the stream', async () => {
    stubApi(() => json({ rooms: [room('bob', { thumbnail_url: '/hls/bob/thumbnail.jpg' })], next_cursor: null }));
    mount();
    FakeEventSource.latest().open();
    await vi.waitFor(() => expect(usernames()).toEqual(['bob']));
    const channel = byTestId(root, 'room-channel');
    expect(channel.getAttribute('href')).toBe('/c/bob');
    expect(channel.closest('[data-testid="room-card"]')).toBeNull();
  });

  it('reads the list again while a young room waits for its first thumbnail', () => {
    const now = Date.parse('2026-01-01T12:01:00Z');
    expect(awaitsThumbnail(room('bob', { started_at: '2026-01-01T12:00:30Z' }), now)).toBe(true);
    expect(awaitsThumbnail(room('bob', { started_at: '2026-01-01T12:00:30Z', thumbnail_url: '/hls/bob/thumbnail.jpg' }), now)).toBe(false);
    // An nginx-rtmp stream never gets one: stop asking.
    expect(awaitsThumbnail(room('bob', { started_at: '2026-01-01T11:00:00Z' }), now)).toBe(false);
  });

  it('closes the event stream when the page is left', async () => {
    stubApi(() => json({ rooms: [], next_cursor: null }));
    mount();
    const events = FakeEventSource.latest();
    page.abort();
    expect(events.closed).toBe(true);
  });
});
