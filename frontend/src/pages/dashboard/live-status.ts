/**
 * The dashboard's live status: whether the owner's room is live, its viewers and uptime, and a
 * small muted preview of what viewers see.
 *
 * Follows `/api/events` for the owner's room and also polls `GET /api/rooms/{me}` every 10 s,
 * so the status is right even when the event stream is unavailable. The preview sends no
 * viewer heartbeat: the streamer watching their own output is not an audience.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { Room } from '../../api/types';
import { h, setText } from '../../dom';
import { liveEvents } from '../../events';
import { formatLiveFor, formatViewers } from '../../format';
import type { LivePlayer } from '../../player/player';
import { watchPath } from '../../router';
import { every, onLeave } from '../../ui/lifecycle';

export function liveStatusPanel(signal: AbortSignal, username: string, onRoom: (room: Room | null) => void): HTMLElement {
  const badge = h('span', { class: 'badge badge-offline', 'data-testid': 'live-state' }, 'Checking…');
  const details = h('span', { class: 'muted', 'data-testid': 'live-details' });
  const status = h('p', { class: 'live-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'live-status' }, badge, ' ', details);
  const video = h('video', {
    class: 'preview-video',
    'data-testid': 'preview',
    muted: true,
    playsinline: true,
    'aria-label': 'Preview of your stream (muted)',
  });
  const preview = h('div', { class: 'preview', hidden: true }, video);
  const hint = h(
    'p',
    { class: 'muted', 'data-testid': 'offline-hint' },
    'Start streaming in OBS and this page shows you as live within a few seconds.',
  );

  let room: Room | null = null;
  let player: LivePlayer | null = null;
  let seq = 0;

  const render = () => {
    if (room) {
      badge.className = 'badge badge-live';
      setText(badge, 'LIVE');
      setText(details, `${formatViewers(room.viewers)} · ${formatLiveFor(room.started_at)}`);
    } else {
      badge.className = 'badge badge-offline';
      setText(badge, 'Offline');
      setText(details, '');
    }
    preview.hidden = !room;
    hint.hidden = !!room;
  };

  const startPreview = async (live: Room) => {
    if (player) return;
    try {
      const { LivePlayer } = await import('../../player/player');
      if (signal.aborted || player || !room || !LivePlayer.isSupported(video)) return;
      player = new LivePlayer(video, live.hls_url || `/hls/${encodeURIComponent(username)}/master.m3u8`);
      player.start();
    } catch {
      // The preview is a convenience; without it the status text still tells the truth.
    }
  };

  const stopPreview = () => {
    player?.destroy();
    player = null;
  };

  const setRoom = (next: Room | null) => {
    const newSession = !!next && !!room && next.started_at !== room.started_at;
    room = next;
    render();
    onRoom(next);
    if (!next) stopPreview();
    else if (newSession && player) player.start();
    else void startPreview(next);
  };

  const check = async () => {
    const mine = ++seq;
    try {
      const fresh = await api.getRoom(username, signal);
      if (mine === seq) setRoom(fresh);
    } catch (error) {
      if (isAbortError(error) || mine !== seq) return;
      if (error instanceof ApiError && error.isNotFound) setRoom(null);
    }
  };

  const unsubscribe = liveEvents.subscribe({
    onOpen: () => void check(),
    onEvent: (event) => {
      if (event.type === 'room_started' && event.room.username === username) {
        seq++;
        setRoom(event.room);
      } else if (event.type === 'room_ended' && event.username === username) {
        seq++;
        setRoom(null);
      } else if (event.type === 'viewers_changed' && event.username === username && room) {
        room = { ...room, viewers: event.viewers };
        render();
      } else if (event.type === 'title_changed' && event.username === username && room) {
        room = { ...room, title: event.title };
        onRoom(room);
      }
    },
  });
  every(signal, 10_000, () => void check());
  onLeave(signal, () => {
    unsubscribe();
    stopPreview();
  });
  void check();

  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'live-heading', 'data-testid': 'live-panel' },
    h('h2', { id: 'live-heading' }, 'Live status'),
    status,
    preview,
    hint,
    h('p', {}, h('a', { href: watchPath(username) }, 'Open your channel page'), ' to see it as viewers do.'),
  );
}
