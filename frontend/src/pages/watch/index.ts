/**
 * `/watch/{username}` — one live room: player, quality menu, viewer count, live state.
 *
 * The page decides whether the stream is live from the rooms API and the event stream, never
 * from the player alone: a playlist 404 right after `room_started` only means the ingest has
 * not written `master.m3u8` yet (≈ 1–5 s with a transcoded ladder), so a 404 makes the page ask
 * `GET /api/rooms/{username}`, and only a 404 there shows "Stream ended". While offline it polls
 * that endpoint every 10 s as well as listening for `room_started`, so it resumes even if the
 * event stream is down. While live it sends the presence heartbeat every 10 s.
 *
 * This file is that decision and the wiring; the parts live beside it: `view.ts` (elements and
 * drawing), `state.ts` (what each state shows), `room-events.ts`, `presence.ts` (heartbeat),
 * `quality-menu.ts`, `controls.ts` and `player-loader.ts`.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { Room } from '../../api/types';
import { replace, setText } from '../../dom';
import { liveEvents } from '../../events';
import type { LivePlayer } from '../../player/player';
import { every, onLeave } from '../../ui/lifecycle';
import { wireControls } from './controls';
import { loadPlayer } from './player-loader';
import { HEARTBEAT_MS, ViewerPresence } from './presence';
import { qualityMenu } from './quality-menu';
import { roomChange } from './room-events';
import { afterRoomGone, present, spinnerShown, tickAction, type WatchState } from './state';
import { showLiveFor, showPresentation, showRoom, showViewers, watchView } from './view';

export function watchPage(root: HTMLElement, signal: AbortSignal, username: string): void {
  document.title = `${username} — ferrocast`;
  const view = watchView(username);
  replace(root, view.page);

  let state: WatchState = 'loading';
  /** True once frames play for the current player; the spinner shows while live and not yet. */
  let playingNow = false;
  let room: Room | null = null;
  let player: LivePlayer | null = null;
  let creatingPlayer = false;
  /** Bumped on every room check, so a slow answer cannot undo a newer one. */
  let checkSeq = 0;
  const presence = new ViewerPresence(username, signal);
  const quality = qualityMenu(view.quality, view.playing, (level, label) => {
    player?.setLevel(level);
    setText(view.status, `Quality set to ${label}.`);
  });
  wireControls(view);

  const setState = (next: WatchState, message = '') => {
    state = next;
    const p = present(next, username, playingNow, message);
    showPresentation(view, p);
    if (p.clearQuality) quality.render([]);
  };

  const setPlaying = (value: boolean) => {
    playingNow = value;
    view.loadingOverlay.hidden = !spinnerShown(state, playingNow);
  };

  const setViewers = (count: number) => {
    if (room) room = { ...room, viewers: count };
    showViewers(view, count);
  };

  /**
   * The room is live. A new session (another `started_at`) reloads an existing player: it may
   * be served by another ingest node and starts a new playlist.
   */
  const goLive = async (next: Room) => {
    const newSession = room !== null && room.started_at !== next.started_at;
    room = next;
    if (state !== 'live') setState('live');
    showRoom(view, room, username);
    if (player) {
      if (newSession) {
        setPlaying(false);
        player.start();
      }
      return;
    }
    if (creatingPlayer) return;
    creatingPlayer = true;
    const loaded = await loadPlayer(
      view.video,
      next.hls_url || `/hls/${encodeURIComponent(username)}/master.m3u8`,
      {
        onLevels: (levels) => quality.render(levels),
        onLevelSwitched: (height) => quality.switched(height),
        onPlaying: () => {
          view.playButton.hidden = true;
          setPlaying(true);
        },
        onAutoplayBlocked: () => {
          view.playButton.hidden = false;
        },
        onRetrying: () => setPlaying(false),
        // A 404 or the end of the playlist: ask the rooms API whether the stream is over.
        onNotFound: () => void checkRoom(),
        onEnded: () => void checkRoom(),
        onFatal: (message) => {
          player?.destroy();
          player = null;
          setState('error', message);
        },
      },
      () => !signal.aborted && !player && state === 'live',
    );
    creatingPlayer = false;
    if (!loaded) return;
    if ('error' in loaded) {
      setState('error', loaded.error);
      return;
    }
    setPlaying(false);
    player = loaded.player;
    player.start();
    void heartbeat();
  };

  const goOffline = (kind: 'offline' | 'ended') => {
    player?.destroy();
    player = null;
    room = null;
    setPlaying(false);
    setState(kind);
  };

  const checkRoom = async () => {
    const seq = ++checkSeq;
    try {
      const fresh = await api.getRoom(username, signal);
      if (seq !== checkSeq) return;
      await goLive(fresh);
    } catch (error) {
      if (seq !== checkSeq || isAbortError(error)) return;
      if (error instanceof ApiError && error.isNotFound) {
        const next = afterRoomGone(state);
        if (next) goOffline(next);
      } else if (state === 'loading') {
        // Rooms unreachable: keep the spinner, the 10 s tick asks again.
        setText(view.status, 'Cannot reach ferrocast right now, retrying…');
      }
    }
  };

  const heartbeat = async () => {
    if (state !== 'live') return;
    const result = await presence.beat();
    if (result === 'gone') void checkRoom();
    else if (result && state === 'live') setViewers(result.viewers);
  };

  every(signal, HEARTBEAT_MS, () => {
    const action = tickAction(state);
    if (action === 'heartbeat') void heartbeat();
    else if (action === 'check') void checkRoom();
    if (room) showLiveFor(view, room);
  });

  const unsubscribe = liveEvents.subscribe({
    onOpen: () => void checkRoom(),
    onEvent: (event) => {
      const change = roomChange(username, event);
      if (change?.kind === 'started') {
        checkSeq++; // newer than any room check in flight
        void goLive(change.room);
      } else if (change?.kind === 'ended') {
        checkSeq++;
        goOffline('ended');
      } else if (change?.kind === 'viewers' && room) {
        setViewers(change.viewers);
      } else if (change?.kind === 'title' && room) {
        room = { ...room, title: change.title };
        showRoom(view, room, username);
      }
    },
  });

  quality.render([]);
  setState('loading');
  onLeave(signal, () => {
    unsubscribe();
    player?.destroy();
    player = null;
  });
  void checkRoom();
}
