/**
 * `/watch/{username}` — one live room: player, quality menu, viewer count, live state.
 *
 * The page decides whether the stream is live from the rooms API and the event stream, never
 * from the player alone: a playlist 404 right after `room_started` only means the ingest has
 * not written `master.m3u8` yet (≈ 1–5 s with a transcoded ladder), so a 404 makes the page ask
 * `GET /api/rooms/{username}`, and only a 404 there shows "Stream ended". While offline it polls
 * that endpoint every 10 s as well as listening for `room_started`, so it resumes even if the
 * event stream is down. While live it sends the presence heartbeat every 10 s.
 */
import { api } from '../api/endpoints';
import { ApiError, isAbortError } from '../api/error';
import type { Room } from '../api/types';
import { h, replace, setText } from '../dom';
import { liveEvents } from '../events';
import { formatLiveFor, formatViewers } from '../format';
import type { LivePlayer } from '../player/player';
import { AUTO_LEVEL, qualityEntries, type LevelInfo } from '../player/quality';
import { every, onLeave } from '../ui/lifecycle';
import { loadViewerToken, saveViewerToken } from '../viewer-token';

const HEARTBEAT_MS = 10_000;

type State = 'loading' | 'live' | 'offline' | 'ended' | 'error';

export function watchPage(root: HTMLElement, signal: AbortSignal, username: string): void {
  document.title = `${username} — ferrocast`;

  const video = h('video', {
    class: 'player-video',
    'data-testid': 'video',
    muted: true,
    autoplay: true,
    playsinline: true,
    'aria-label': `Live video from ${username}`,
  });
  const loadingOverlay = h('div', { class: 'player-overlay', 'data-testid': 'player-loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', {}, 'Connecting…'));
  const endedHeading = h('h2', {}, 'Stream ended');
  const endedText = h('p', {});
  const ended = h(
    'div',
    { class: 'player-overlay player-ended', 'data-testid': 'stream-ended', hidden: true },
    endedHeading,
    endedText,
    h('a', { href: '/', class: 'btn' }, 'Browse live channels'),
  );
  const errorBox = h('div', { class: 'player-overlay player-error', role: 'alert', 'data-testid': 'player-error', hidden: true });
  const playButton = h('button', { type: 'button', class: 'btn btn-primary player-play', 'data-testid': 'play', hidden: true }, 'Play');

  const title = h('h1', { class: 'watch-title', tabindex: -1, 'data-testid': 'room-title' }, username);
  const liveBadge = h('span', { class: 'badge badge-live', 'data-testid': 'live-badge', hidden: true }, 'LIVE');
  const viewers = h('span', { class: 'watch-viewers', 'data-testid': 'viewer-count', hidden: true });
  const liveFor = h('span', { class: 'watch-time', 'data-testid': 'live-for' });
  const status = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'data-testid': 'watch-status' });

  const unmute = h('button', { type: 'button', class: 'btn', 'data-testid': 'unmute' }, 'Unmute');
  const fullscreen = h('button', { type: 'button', class: 'btn', 'data-testid': 'fullscreen' }, 'Fullscreen');
  const quality = h('select', { id: 'quality', class: 'select', 'data-testid': 'quality-select', disabled: true });
  const playing = h('span', { class: 'current-quality', 'data-testid': 'current-quality' });
  const playerBox = h('div', { class: 'player' }, video, loadingOverlay, ended, errorBox, playButton);

  replace(
    root,
    h(
      'section',
      { class: 'page page-watch' },
      playerBox,
      h(
        'div',
        { class: 'watch-bar' },
        h(
          'div',
          { class: 'watch-info' },
          title,
          h('p', { class: 'watch-meta' }, h('span', { class: 'watch-user' }, username), liveBadge, viewers, liveFor),
        ),
        h(
          'div',
          { class: 'player-controls', role: 'group', 'aria-label': 'Player controls' },
          unmute,
          h('label', { for: 'quality', class: 'inline-label' }, 'Quality'),
          quality,
          playing,
          fullscreen,
        ),
      ),
      status,
    ),
  );

  let state: State = 'loading';
  /** True once frames play for the current player; the spinner shows while live and not yet. */
  let playingNow = false;
  let room: Room | null = null;
  let player: LivePlayer | null = null;
  let creatingPlayer = false;
  /** Bumped on every room check, so a slow answer cannot undo a newer one. */
  let checkSeq = 0;
  /** Issued by the server on the first heartbeat; sent back so this tab counts once. */
  let viewerToken = loadViewerToken(username);

  // ----- rendering -------------------------------------------------------------------------

  const setState = (next: State, message = '') => {
    state = next;
    const live = next === 'live';
    loadingOverlay.hidden = !(next === 'loading' || (live && !playingNow));
    ended.hidden = next !== 'offline' && next !== 'ended';
    errorBox.hidden = next !== 'error';
    liveBadge.hidden = !live;
    viewers.hidden = !live;
    liveFor.hidden = !live;
    if (!live) playButton.hidden = true;
    playerBox.classList.toggle('is-offline', !live && next !== 'loading');
    if (next === 'offline' || next === 'ended') {
      setText(endedHeading, next === 'ended' ? 'Stream ended' : 'Offline');
      setText(
        endedText,
        `${username} is ${next === 'ended' ? 'no longer live' : 'not live right now'}. This page will start playing as soon as they go live again.`,
      );
      setText(status, next === 'ended' ? `${username}'s stream ended.` : `${username} is offline.`);
      renderQuality([]);
    } else if (next === 'error') {
      setText(errorBox, message);
      setText(status, message);
    } else if (live) {
      setText(status, `${username} is live.`);
    }
  };

  const setPlaying = (value: boolean) => {
    playingNow = value;
    loadingOverlay.hidden = !(state === 'loading' || (state === 'live' && !playingNow));
  };

  const renderRoom = () => {
    if (!room) return;
    const text = room.title.trim() || `${username} is live`;
    setText(title, text);
    document.title = `${text} — ${username} — ferrocast`;
    setViewers(room.viewers);
    setText(liveFor, formatLiveFor(room.started_at));
  };

  const setViewers = (count: number) => {
    if (room) room = { ...room, viewers: count };
    setText(viewers, formatViewers(count));
    viewers.dataset.count = String(count);
  };

  const renderQuality = (levels: LevelInfo[]) => {
    const entries = qualityEntries(levels);
    const selected = quality.value;
    quality.replaceChildren(...entries.map((e) => h('option', { value: e.value }, e.label)));
    quality.value = entries.some((e) => String(e.value) === selected) ? selected : String(AUTO_LEVEL);
    // One rendition (or native HLS): nothing to choose.
    quality.disabled = entries.length <= 2;
    if (!levels.length) setText(playing, '');
  };

  // ----- stream lifecycle ------------------------------------------------------------------

  /**
   * The room is live. A new session (another `started_at`) reloads an existing player: it may
   * be served by another ingest node and starts a new playlist.
   */
  const goLive = async (next: Room) => {
    const newSession = room !== null && room.started_at !== next.started_at;
    room = next;
    if (state !== 'live') setState('live');
    renderRoom();
    if (player) {
      if (newSession) {
        setPlaying(false);
        player.start();
      }
      return;
    }
    if (creatingPlayer) return;
    creatingPlayer = true;
    let Player: typeof LivePlayer;
    try {
      Player = (await import('../player/player')).LivePlayer;
    } catch {
      setState('error', 'The video player could not be loaded. Please reload the page.');
      return;
    } finally {
      creatingPlayer = false;
    }
    if (signal.aborted || player || state !== 'live') return;
    if (!Player.isSupported(video)) {
      setState('error', 'This browser cannot play live video (it has neither Media Source Extensions nor native HLS).');
      return;
    }
    setPlaying(false);
    player = new Player(
      video,
      next.hls_url || `/hls/${encodeURIComponent(username)}/master.m3u8`,
      {
        onLevels: renderQuality,
        onLevelSwitched: (height) => setText(playing, height ? `Playing ${height}p` : ''),
        onPlaying: () => {
          playButton.hidden = true;
          setPlaying(true);
        },
        onAutoplayBlocked: () => {
          playButton.hidden = false;
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
      { exposeForTests: true },
    );
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
        if (state === 'live' || state === 'ended') goOffline('ended');
        else if (state !== 'offline') goOffline('offline');
      } else if (state === 'loading') {
        // Rooms unreachable: keep the spinner, the 10 s tick asks again.
        setText(status, 'Cannot reach ferrocast right now, retrying…');
      }
    }
  };

  const heartbeat = async () => {
    if (state !== 'live') return;
    try {
      const answer = await api.heartbeat(username, viewerToken, signal);
      viewerToken = answer.viewer_token;
      saveViewerToken(username, viewerToken);
      if (state === 'live') setViewers(answer.viewers);
    } catch (error) {
      if (isAbortError(error)) return;
      if (error instanceof ApiError && error.isNotFound) void checkRoom();
    }
  };

  every(signal, HEARTBEAT_MS, () => {
    // Live: heartbeat (its 404 triggers a room check). Offline: poll, in case the event stream
    // is down. A player error stays on screen until a new session starts.
    if (state === 'live') void heartbeat();
    else if (state !== 'error') void checkRoom();
    if (room) setText(liveFor, formatLiveFor(room.started_at));
  });

  const unsubscribe = liveEvents.subscribe({
    onOpen: () => void checkRoom(),
    onEvent: (event) => {
      if (event.type === 'room_started' && event.room.username === username) {
        checkSeq++; // newer than any room check in flight
        void goLive(event.room);
      } else if (event.type === 'room_ended' && event.username === username) {
        checkSeq++;
        goOffline('ended');
      } else if (event.type === 'viewers_changed' && event.username === username && room) {
        setViewers(event.viewers);
      } else if (event.type === 'title_changed' && event.username === username && room) {
        room = { ...room, title: event.title };
        renderRoom();
      }
    },
  });

  // ----- controls --------------------------------------------------------------------------

  const syncMute = () => setText(unmute, video.muted || video.volume === 0 ? 'Unmute' : 'Mute');
  unmute.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 1;
  });
  video.addEventListener('volumechange', syncMute);

  quality.addEventListener('change', () => {
    player?.setLevel(Number(quality.value));
    setText(status, `Quality set to ${quality.selectedOptions[0]?.textContent ?? 'Auto'}.`);
  });

  playButton.addEventListener('click', () => {
    video.play().then(
      () => {
        playButton.hidden = true;
      },
      () => undefined,
    );
  });

  fullscreen.hidden = !document.fullscreenEnabled;
  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void playerBox.requestFullscreen().catch(() => undefined);
  });

  renderQuality([]);
  setState('loading');
  onLeave(signal, () => {
    unsubscribe();
    player?.destroy();
    player = null;
  });
  void checkRoom();
}
