/** SSE event parsing, the rooms reducer, and the shared connection's reconnect behaviour. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyRoomEvent, LiveEvents, parseRoomEvent, type RoomEvent } from './events';
import { FakeEventSource, room } from './test-support';

describe('parseRoomEvent', () => {
  it('reads a room_started event as the full room', () => {
    const event = parseRoomEvent('room_started', JSON.stringify(room('alice', { viewers: 2 })));
    expect(event).toEqual({ type: 'room_started', room: room('alice', { viewers: 2 }) });
  });

  it('fills what a minimal room_started lacks, including the HLS URL', () => {
    const event = parseRoomEvent('room_started', '{"username":"bob","started_at":"2026-01-01T00:00:00Z"}');
    expect(event?.type).toBe('room_started');
    if (event?.type !== 'room_started') return;
    expect(event.room.hls_url).toBe('/hls/bob/master.m3u8');
    expect(event.room.title).toBe('');
    expect(event.room.renditions).toEqual([]);
    expect(event.room.thumbnail_url).toBeNull();
  });

  it('reads the small events', () => {
    expect(parseRoomEvent('room_ended', '{"username":"a"}')).toEqual({ type: 'room_ended', username: 'a' });
    expect(parseRoomEvent('viewers_changed', '{"username":"a","viewers":7}')).toEqual({
      type: 'viewers_changed',
      username: 'a',
      viewers: 7,
    });
    expect(parseRoomEvent('title_changed', '{"username":"a","title":"new"}')).toEqual({
      type: 'title_changed',
      username: 'a',
      title: 'new',
    });
  });

  it('rejects malformed events instead of throwing', () => {
    expect(parseRoomEvent('room_ended', 'not json')).toBeNull();
    expect(parseRoomEvent('room_ended', '{}')).toBeNull();
    expect(parseRoomEvent('room_ended', '"alice"')).toBeNull();
    expect(parseRoomEvent('viewers_changed', '{"username":"a","viewers":"7"}')).toBeNull();
    expect(parseRoomEvent('title_changed', '{"username":"a"}')).toBeNull();
    expect(parseRoomEvent('something_else', '{"username":"a"}')).toBeNull();
  });
});

describe('applyRoomEvent', () => {
  const list = [room('bob'), room('alice')];

  it('puts a started room first (newest first)', () => {
    const next = applyRoomEvent(list, { type: 'room_started', room: room('carol') });
    expect(next.map((r) => r.username)).toEqual(['carol', 'bob', 'alice']);
  });

  it('replaces a room that starts again instead of listing it twice', () => {
    const next = applyRoomEvent(list, { type: 'room_started', room: room('alice', { title: 'second session' }) });
    expect(next.map((r) => r.username)).toEqual(['alice', 'bob']);
    expect(next[0]!.title).toBe('second session');
  });

  it('removes an ended room', () => {
    expect(applyRoomEvent(list, { type: 'room_ended', username: 'bob' }).map((r) => r.username)).toEqual(['alice']);
  });

  it('updates viewers and title of the named room only', () => {
    const viewers = applyRoomEvent(list, { type: 'viewers_changed', username: 'alice', viewers: 12 });
    expect(viewers.find((r) => r.username === 'alice')!.viewers).toBe(12);
    expect(viewers.find((r) => r.username === 'bob')).toBe(list[0]);

    const titled = applyRoomEvent(list, { type: 'title_changed', username: 'bob', title: 'speedrun' });
    expect(titled[0]!.title).toBe('speedrun');
    expect(titled[1]).toBe(list[1]);
  });

  it('returns the same list when the event changes nothing, so pages can skip a render', () => {
    const noops: RoomEvent[] = [
      { type: 'room_ended', username: 'nobody' },
      { type: 'viewers_changed', username: 'nobody', viewers: 3 },
      { type: 'title_changed', username: 'nobody', title: 'x' },
      { type: 'viewers_changed', username: 'bob', viewers: 0 },
      { type: 'title_changed', username: 'bob', title: "bob's stream" },
    ];
    for (const event of noops) expect(applyRoomEvent(list, event)).toBe(list);
  });

  it('does not mutate its input', () => {
    const copy = structuredClone(list);
    applyRoomEvent(list, { type: 'room_started', room: room('zed') });
    applyRoomEvent(list, { type: 'viewers_changed', username: 'bob', viewers: 9 });
    expect(list).toEqual(copy);
  });
});

describe('LiveEvents', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeEventSource.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = () => new LiveEvents('/api/events', (url) => new FakeEventSource(url));

  it('connects on the first subscriber and delivers parsed events', () => {
    const live = make();
    const events: RoomEvent[] = [];
    live.subscribe({ onEvent: (e) => events.push(e) });
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(FakeEventSource.latest().url).toBe('/api/events');
    FakeEventSource.latest().emit('viewers_changed', { username: 'a', viewers: 4 });
    FakeEventSource.latest().emit('viewers_changed', 'garbage');
    expect(events).toEqual([{ type: 'viewers_changed', username: 'a', viewers: 4 }]);
  });

  it('shares one connection and closes it when the last subscriber leaves', () => {
    const live = make();
    const a = live.subscribe({});
    const b = live.subscribe({});
    expect(FakeEventSource.instances).toHaveLength(1);
    a();
    expect(FakeEventSource.latest().closed).toBe(false);
    b();
    expect(FakeEventSource.latest().closed).toBe(true);
  });

  it('tells subscribers to resynchronise on every open, and late subscribers at once', () => {
    const live = make();
    const onOpen = vi.fn();
    live.subscribe({ onOpen });
    const source = FakeEventSource.latest();
    source.open();
    expect(onOpen).toHaveBeenCalledTimes(1);
    source.drop(); // the browser reconnects by itself...
    source.open(); // ...and events may have been missed meanwhile
    expect(onOpen).toHaveBeenCalledTimes(2);

    const late = vi.fn();
    live.subscribe({ onOpen: late });
    expect(late).toHaveBeenCalledTimes(1);
  });

  it('reconnects with backoff when the browser gives up on the stream', () => {
    const live = make();
    const states: string[] = [];
    live.subscribe({ onState: (s) => states.push(s) });
    const first = FakeEventSource.latest();
    first.fail();
    expect(first.closed).toBe(true);
    expect(states).toContain('reconnecting');
    expect(FakeEventSource.instances).toHaveLength(1);

    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.instances).toHaveLength(2);
    FakeEventSource.latest().open();
    expect(live.connectionState).toBe('open');
    expect(states.at(-1)).toBe('open');
  });

  it('lets the browser retry a dropped stream without opening a second one', () => {
    const live = make();
    live.subscribe({});
    FakeEventSource.latest().drop();
    vi.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('stops retrying after the last subscriber leaves', () => {
    const live = make();
    const leave = live.subscribe({});
    FakeEventSource.latest().fail();
    leave();
    vi.advanceTimersByTime(60_000);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('ignores events from a replaced connection', () => {
    const live = make();
    const onEvent = vi.fn();
    live.subscribe({ onEvent });
    const old = FakeEventSource.latest();
    old.fail();
    vi.advanceTimersByTime(1000);
    old.emit('room_ended', { username: 'a' });
    expect(onEvent).not.toHaveBeenCalled();
  });
});
