/**
 * `/` — the grid of live rooms.
 *
 * The list comes from `GET /api/rooms` and then follows `/api/events` without reloads. The list
 * is (re)loaded whenever the event stream opens, since events sent while disconnected are lost;
 * events arriving during that load are buffered and replayed onto the fresh list, which the
 * reducer (events.ts) makes safe. Cards are kept per username and only patched, so a viewer
 * count changing does not rebuild the grid or steal keyboard focus.
 *
 * Thumbnails: a room names its `thumbnail_url` once the ingest made the first picture, a few
 * seconds after the stream started, and no event says so; so the list is read again every 30 s,
 * and every 5 s while a room younger than two minutes still has none. Shown pictures are fetched
 * again every 30 s (ui/live-thumbnail.ts).
 */
import { api } from '../api/endpoints';
import { isAbortError } from '../api/error';
import type { Room } from '../api/types';
import { h, replace, setText } from '../dom';
import { applyRoomEvent, liveEvents, type RoomEvent } from '../events';
import { formatLiveFor, formatViewers } from '../format';
import { channelPath, watchPath } from '../router';
import { after, every, onLeave } from '../ui/lifecycle';
import { liveThumbnail, THUMBNAIL_REFRESH_MS } from '../ui/live-thumbnail';

const PAGE_SIZE = 24;
/** How long to wait for the event stream before loading the list without it. */
const EVENTS_GRACE_MS = 1500;
/** How often the list is read again while a young room waits for its first thumbnail. */
const FIRST_THUMBNAIL_POLL_MS = 5_000;
/** A room older than this without a thumbnail will not get one (an nginx-rtmp stream). */
const FIRST_THUMBNAIL_WAIT_MS = 120_000;

interface CardView {
  element: HTMLAnchorElement;
  update(room: Room, now: number): void;
  refreshThumbnail(): void;
}

/** Whether a room may still get its first thumbnail soon, so the list is worth reading again. */
export function awaitsThumbnail(room: Room, now: number): boolean {
  return !room.thumbnail_url && now - Date.parse(room.started_at) < FIRST_THUMBNAIL_WAIT_MS;
}

export function homePage(root: HTMLElement, signal: AbortSignal): void {
  document.title = 'Live now — ferrocast';

  const heading = h('h1', { tabindex: -1 }, 'Live now');
  const summary = h('p', { class: 'page-sub', role: 'status', 'aria-live': 'polite', 'data-testid': 'rooms-summary' });
  const connection = h('p', { class: 'notice', role: 'status', 'data-testid': 'events-status', hidden: true });
  const grid = h('ul', { class: 'room-grid', 'data-testid': 'room-grid', 'aria-label': 'Live rooms' });
  const loadMore = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Show more');
  const failure = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });
  const empty = emptyState();
  empty.hidden = true;

  replace(
    root,
    h('section', { class: 'page page-home' }, h('div', { class: 'page-head' }, heading, summary), connection, failure, grid, h('div', { class: 'center' }, loadMore), empty),
  );

  let rooms: readonly Room[] = [];
  let nextCursor: string | null = null;
  let loaded = false;
  /** Events received while a list request is in flight; null when none is. */
  let pending: RoomEvent[] | null = null;
  let loadController: AbortController | null = null;
  const cards = new Map<string, CardView>();
  onLeave(signal, () => loadController?.abort());
  setText(summary, 'Loading live rooms…');

  const render = () => {
    const now = Date.now();
    const wanted = rooms.map((room) => {
      let card = cards.get(room.username);
      if (!card) {
        card = roomCard(room);
        cards.set(room.username, card);
      }
      card.update(room, now);
      return card.element.parentElement as HTMLLIElement;
    });
    for (const [username, card] of cards) {
      if (!rooms.some((r) => r.username === username)) {
        card.element.parentElement?.remove();
        cards.delete(username);
      }
    }
    const current = [...grid.children];
    if (current.length !== wanted.length || current.some((el, i) => el !== wanted[i])) grid.replaceChildren(...wanted);

    empty.hidden = !loaded || rooms.length > 0;
    grid.hidden = rooms.length === 0;
    loadMore.hidden = !nextCursor;
    if (loaded) setText(summary, rooms.length === 1 ? '1 channel live' : `${rooms.length} channels live`);
  };

  const load = async () => {
    loadController?.abort();
    const controller = new AbortController();
    loadController = controller;
    pending = [];
    try {
      const page = await api.listRooms({ limit: PAGE_SIZE }, controller.signal);
      let next: readonly Room[] = page.rooms;
      for (const event of pending) next = applyRoomEvent(next, event);
      rooms = next;
      nextCursor = page.next_cursor ?? null;
      loaded = true;
      failure.hidden = true;
      render();
    } catch (error) {
      if (isAbortError(error)) return;
      showFailure(error instanceof Error ? error.message : 'Could not load live rooms.');
    } finally {
      if (loadController === controller) {
        pending = null;
        loadController = null;
      }
    }
  };

  const showFailure = (message: string) => {
    const retry = h('button', { type: 'button', class: 'btn' }, 'Try again');
    retry.addEventListener('click', () => void load());
    replace(failure, h('span', {}, `Could not load live rooms: ${message} `), retry);
    failure.hidden = false;
    if (!loaded) setText(summary, '');
  };

  loadMore.addEventListener('click', async () => {
    if (!nextCursor) return;
    loadMore.disabled = true;
    try {
      const page = await api.listRooms({ limit: PAGE_SIZE, cursor: nextCursor }, signal);
      const known = new Set(rooms.map((r) => r.username));
      rooms = [...rooms, ...page.rooms.filter((r) => !known.has(r.username))];
      nextCursor = page.next_cursor ?? null;
      render();
    } catch (error) {
      if (!isAbortError(error)) showFailure(error instanceof Error ? error.message : 'Could not load more rooms.');
    } finally {
      loadMore.disabled = false;
    }
  });

  let started = false;
  const unsubscribe = liveEvents.subscribe({
    onOpen: () => {
      started = true;
      void load();
    },
    onEvent: (event) => {
      if (pending) pending.push(event);
      else if (loaded) {
        const next = applyRoomEvent(rooms, event);
        if (next !== rooms) {
          rooms = next;
          render();
        }
      }
    },
    onState: (state) => {
      connection.hidden = state !== 'reconnecting';
      setText(connection, 'Reconnecting to live updates…');
    },
  });
  onLeave(signal, unsubscribe);

  // Without the event stream (a proxy that buffers SSE, a rooms outage) the page still shows
  // the list, and re-reads it every 30 s instead of following events.
  after(signal, EVENTS_GRACE_MS, () => {
    if (!started) void load();
  });
  every(signal, THUMBNAIL_REFRESH_MS, () => {
    if (!pending) void load();
    else render();
    for (const card of cards.values()) card.refreshThumbnail();
  });
  every(signal, FIRST_THUMBNAIL_POLL_MS, () => {
    const now = Date.now();
    if (loaded && !pending && rooms.some((room) => awaitsThumbnail(room, now))) void load();
  });
}

function roomCard(initial: Room): CardView {
  const title = h('h2', { class: 'room-title', 'data-testid': 'room-title' });
  const viewers = h('span', { class: 'badge badge-viewers', 'data-testid': 'viewer-count' });
  const liveFor = h('span', { class: 'room-time', 'data-testid': 'live-for' });
  const picture = liveThumbnail(() => placeholder(initial.username));
  const thumb = h(
    'div',
    { class: 'thumb' },
    picture.element,
    h('span', { class: 'badge badge-live', 'aria-hidden': 'true' }, 'LIVE'),
    viewers,
  );
  const element = h(
    'a',
    { class: 'room-card', href: watchPath(initial.username), 'data-testid': 'room-card', 'data-username': initial.username },
    thumb,
    h('div', { class: 'room-meta' }, title, h('p', { class: 'room-user' }, liveFor)),
  );
  // Beside the card's link, not inside it: links do not nest.
  const channel = h('a', { href: channelPath(initial.username), 'data-testid': 'room-channel' }, initial.username);
  h('li', { class: 'room-item' }, element, h('p', { class: 'room-channel' }, channel));

  return {
    element,
    update(room, now) {
      setText(title, room.title.trim() || `${room.username} is live`);
      setText(viewers, formatViewers(room.viewers));
      viewers.dataset.count = String(room.viewers);
      setText(liveFor, formatLiveFor(room.started_at, now));
      element.setAttribute(
        'aria-label',
        `${room.title.trim() || 'Untitled stream'} — ${room.username}, ${formatViewers(room.viewers)}, ${formatLiveFor(room.started_at, now)}`,
      );
      picture.set(room.thumbnail_url ?? null);
    },
    refreshThumbnail: () => picture.refresh(),
  };
}

function placeholder(username: string): HTMLElement {
  // A stable hue per username, so a channel keeps its colour between visits.
  let hash = 0;
  for (const ch of username) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const el = h('div', { class: 'thumb-placeholder', 'aria-hidden': 'true' }, username.slice(0, 1).toUpperCase());
  el.style.setProperty('--hue', String(hash % 360));
  return el;
}

function emptyState(): HTMLElement {
  const server = `rtmp://${location.hostname}:1935/live`;
  return h(
    'section',
    { class: 'empty-state', 'data-testid': 'empty-state', 'aria-labelledby': 'empty-heading' },
    h('h2', { id: 'empty-heading' }, 'Nobody is live right now'),
    h('p', {}, 'Be the first. Going live takes three steps:'),
    h(
      'ol',
      { class: 'steps' },
      h('li', {}, h('a', { href: '/signup' }, 'Sign up'), ' for a ferrocast account.'),
      h('li', {}, 'Open your ', h('a', { href: '/dashboard' }, 'dashboard'), ' and create a stream key.'),
      h(
        'li',
        {},
        'In OBS, go to Settings → Stream, choose “Custom”, set the server to ',
        h('code', {}, server),
        ', paste your key, and press Start Streaming.',
      ),
    ),
  );
}
