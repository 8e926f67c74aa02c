/**
 * Live room events from `GET /api/events` (Server-Sent Events).
 *
 * Two halves: pure functions that parse an event and apply it to a list of rooms (unit-tested),
 * and one shared `EventSource` per tab that pages subscribe to. The browser's EventSource only
 * retries by itself after a dropped connection; when the server answers with an error status it
 * closes for good, so that case is retried here with backoff. Every (re)open is reported, because
 * events sent while disconnected are lost and subscribers must resynchronise from the REST API.
 */
import { backoffDelay } from './backoff';
import type { Room } from './api/types';
import { jsonObject } from './sse';

export type RoomEvent =
  | { type: 'room_started'; room: Room }
  | { type: 'room_ended'; username: string }
  | { type: 'viewers_changed'; username: string; viewers: number }
  | { type: 'title_changed'; username: string; title: string };

export const ROOM_EVENT_TYPES = ['room_started', 'room_ended', 'viewers_changed', 'title_changed'] as const;

/** Parses one SSE message; returns null for anything malformed so one bad event cannot break a page. */
export function parseRoomEvent(type: string, data: string): RoomEvent | null {
  const p = jsonObject(data);
  if (!p || typeof p.username !== 'string' || p.username === '') return null;
  const username = p.username;
  switch (type) {
    case 'room_started':
      return {
        type,
        room: {
          username,
          title: typeof p.title === 'string' ? p.title : '',
          started_at: typeof p.started_at === 'string' ? p.started_at : new Date().toISOString(),
          viewers: typeof p.viewers === 'number' ? p.viewers : 0,
          renditions: Array.isArray(p.renditions) ? (p.renditions as Room['renditions']) : [],
          thumbnail_url: typeof p.thumbnail_url === 'string' ? p.thumbnail_url : null,
          hls_url: typeof p.hls_url === 'string' ? p.hls_url : `/hls/${encodeURIComponent(username)}/master.m3u8`,
        },
      };
    case 'room_ended':
      return { type, username };
    case 'viewers_changed':
      return typeof p.viewers === 'number' ? { type, username, viewers: p.viewers } : null;
    case 'title_changed':
      return typeof p.title === 'string' ? { type, username, title: p.title } : null;
    default:
      return null;
  }
}

/**
 * Applies one event to a rooms list (newest first, as `GET /api/rooms` orders it).
 *
 * Idempotent where it can be, because the home page replays events that arrived while its list
 * was loading: a repeated `room_started` replaces instead of duplicating, and updates for rooms
 * not in the list are ignored. Returns the same array when nothing changed.
 */
export function applyRoomEvent(rooms: readonly Room[], event: RoomEvent): readonly Room[] {
  switch (event.type) {
    case 'room_started':
      return [event.room, ...rooms.filter((r) => r.username !== event.room.username)];
    case 'room_ended':
      return rooms.some((r) => r.username === event.username)
        ? rooms.filter((r) => r.username !== event.username)
        : rooms;
    case 'viewers_changed':
      return updateRoom(rooms, event.username, (r) =>
        r.viewers === event.viewers ? r : { ...r, viewers: event.viewers },
      );
    case 'title_changed':
      return updateRoom(rooms, event.username, (r) => (r.title === event.title ? r : { ...r, title: event.title }));
  }
}

function updateRoom(rooms: readonly Room[], username: string, change: (room: Room) => Room): readonly Room[] {
  let changed = false;
  const next = rooms.map((room) => {
    if (room.username !== username) return room;
    const updated = change(room);
    if (updated !== room) changed = true;
    return updated;
  });
  return changed ? next : rooms;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

export interface EventListeners {
  onEvent?: (event: RoomEvent) => void;
  /**
   * The stream is open (called at subscription when it already is, and on every reconnect):
   * events may have been missed, so reload state from REST.
   */
  onOpen?: () => void;
  onState?: (state: ConnectionState) => void;
}

/** Minimal EventSource surface, so tests can drive the connection without a server. */
export interface EventSourceLike {
  readyState: number;
  onopen: ((this: EventSource, ev: Event) => unknown) | null;
  onerror: ((this: EventSource, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

const CLOSED = 2;

/**
 * One connection shared by every subscriber of the tab; opened on the first subscription and
 * closed when the last one leaves, so a page without live data holds no connection.
 */
export class LiveEvents {
  private source: EventSourceLike | null = null;
  private readonly listeners = new Set<EventListeners>();
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private state: ConnectionState = 'connecting';

  constructor(
    private readonly url = '/api/events',
    private readonly create: (url: string) => EventSourceLike = (u) => new EventSource(u),
  ) {}

  subscribe(listeners: EventListeners): () => void {
    this.listeners.add(listeners);
    if (!this.source && !this.retryTimer) this.connect();
    listeners.onState?.(this.state);
    // A late subscriber still needs its "load now" signal when the stream is already open.
    if (this.state === 'open') listeners.onOpen?.();
    return () => {
      this.listeners.delete(listeners);
      if (this.listeners.size === 0) this.shutdown();
    };
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  private connect(): void {
    this.retryTimer = null;
    const source = this.create(this.url);
    this.source = source;
    source.onopen = () => {
      this.attempt = 0;
      this.setState('open');
      for (const l of [...this.listeners]) l.onOpen?.();
    };
    source.onerror = () => {
      if (source !== this.source) return;
      this.setState('reconnecting');
      // CONNECTING: the browser retries on its own. CLOSED: it gave up (error status or wrong
      // content type from a proxy), so retry ourselves with backoff.
      if (source.readyState === CLOSED) {
        source.close();
        this.source = null;
        const delay = backoffDelay(this.attempt++, { baseMs: 1000, maxMs: 30_000 });
        this.retryTimer = setTimeout(() => this.connect(), delay);
      }
    };
    for (const type of ROOM_EVENT_TYPES) {
      source.addEventListener(type, (message: MessageEvent) => {
        if (source !== this.source) return;
        const event = parseRoomEvent(type, String(message.data));
        if (!event) return;
        for (const l of [...this.listeners]) l.onEvent?.(event);
      });
    }
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of [...this.listeners]) l.onState?.(state);
  }

  private shutdown(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.source?.close();
    this.source = null;
    this.attempt = 0;
    this.state = 'connecting';
  }
}

/** The tab's shared connection. */
export const liveEvents = new LiveEvents();
