/**
 * `/videos/{id}` — one uploaded video: its processing state while the worker runs, then the
 * player (hls.js over the catalogue's HLS files) with seeking, a quality menu, the poster,
 * thumbnails while scrubbing, and the position remembered per video so a reload resumes where
 * the viewer was. `/videos/{id}/dash` plays the DASH manifest in shaka-player instead, once the
 * video is done. An encrypted video plays through EME ClearKey, its key from the licence URL.
 *
 * Playing takes a signed-in viewer with a playback session (playback-gate.ts): a visitor who is
 * not signed in is offered to sign in instead of a player; a viewer's player starts once a
 * session is granted, with its token on the licence request (and on every file of a private
 * video), and stops when the session ends.
 *
 * While the video is not done the page asks for its state every two seconds; the HLS player
 * starts as soon as a first rendition plays (fast start) and reloads once the full ladder is
 * there, in the same session.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { Media } from '../../api/types';
import { playable, processingLabel, processingTimes } from '../../catalog/media';
import { ProgressFollower, settled } from '../../catalog/progress';
import { h, replace, setText } from '../../dom';
import { formatDate } from '../../format';
import type { PlayerCallbacks, PlayerOptions } from '../../player/player';
import { channelPath, videoPath, type VideoPlayerKind } from '../../router';
import { after, onLeave } from '../../ui/lifecycle';
import { tagList } from '../../ui/media';
import { loadPlayer } from '../watch/player-loader';
import { qualityMenu } from '../watch/quality-menu';
import { savedPosition, savePosition } from './resume';
import { currentUser, setUser } from '../../session';
import { PlaybackGate } from './playback-gate';
import { scrubBar } from './thumbnails';

/** What the page needs of either player. */
interface VodPlayer {
  start(): void;
  setLevel(index: number): void;
  destroy(): void;
}

/** After a failed load. */
const RETRY_MS = 2000;
const SAVE_EVERY_MS = 5000;

export function videoPage(root: HTMLElement, signal: AbortSignal, id: string, kind: VideoPlayerKind = 'hls'): void {
  document.title = 'Video — ferrocast';
  const heading = h('h1', { tabindex: -1, 'data-testid': 'video-title' }, 'Loading…');
  const meta = h('p', { class: 'page-sub' });
  const status = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite', 'data-testid': 'video-status', hidden: true });
  const failure = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });
  const video = h('video', { class: 'player-video', controls: true, 'data-testid': 'vod-video', hidden: true }) as HTMLVideoElement;
  const select = h('select', { 'aria-label': 'Quality', 'data-testid': 'quality-select', disabled: true }) as HTMLSelectElement;
  const playing = h('span', { class: 'field-hint', 'data-testid': 'quality-playing' });
  const description = h('p', { class: 'media-description' });
  const times = h('p', { class: 'field-hint', 'data-testid': 'video-times', hidden: true });
  const tags = h('div');
  const scrub = h('div');
  const gateSlot = h('div');
  const other: VideoPlayerKind = kind === 'dash' ? 'hls' : 'dash';
  const switchPlayer = h(
    'a',
    { href: videoPath(id, other), class: 'field-hint', 'data-testid': 'switch-player' },
    other === 'dash' ? 'Play the DASH manifest (shaka-player)' : 'Play with HLS (hls.js)',
  );
  replace(
    root,
    h(
      'section',
      { class: 'page page-video' },
      h('div', { class: 'page-head' }, heading, meta),
      failure,
      status,
      gateSlot,
      h('div', { class: 'player' }, video),
      scrub,
      h('div', { class: 'actions' }, h('label', {}, 'Quality ', select), playing, switchPlayer),
      description,
      times,
      tags,
    ),
  );

  let player: VodPlayer | null = null;
  /** The master the player was started on was not the full ladder yet. */
  let partial = false;
  const quality = qualityMenu(select, playing, (level) => player?.setLevel(level));
  onLeave(signal, () => player?.destroy());

  let lastSave = 0;
  video.addEventListener('timeupdate', () => {
    if (Date.now() - lastSave < SAVE_EVERY_MS) return;
    lastSave = Date.now();
    savePosition(localStorage, id, video.currentTime, video.duration);
  });
  video.addEventListener('loadedmetadata', () => {
    const at = savedPosition(localStorage, id, video.duration);
    if (at > 0) video.currentTime = at;
  });

  const startPlayer = async (item: Media, token: string) => {
    const processing = item.processing;
    const src = kind === 'dash' ? processing?.dash_url : processing?.hls_url;
    if (!processing || !src) return;
    player?.destroy();
    player = null;
    failure.hidden = true;
    if (processing.poster_url) video.poster = processing.poster_url;
    video.hidden = false;
    if (processing.thumbnails_url && !scrub.firstChild) replace(scrub, scrubBar(video, processing.thumbnails_url, signal));
    const callbacks: PlayerCallbacks = {
      onLevels: (levels) => quality.render(levels),
      onLevelSwitched: (height) => quality.switched(height),
      onFatal: (message) => showFailure(message),
    };
    const options: PlayerOptions = {
      playbackToken: token,
      tokenOnEveryRequest: item.visibility === 'private',
      ...(item.encryption ? { clearKeyLicenceUrl: item.encryption.licence_url } : {}),
    };
    const loaded = kind === 'dash' ? await loadDash(video, src, callbacks, options) : await loadPlayer(video, src, callbacks, () => !signal.aborted, options);
    // The session may have ended (or another begun) while the player loaded.
    if (!loaded || signal.aborted || gate?.token !== token) {
      if (loaded && 'player' in loaded) loaded.player.destroy();
      return;
    }
    if ('error' in loaded) {
      showFailure(loaded.error);
      return;
    }
    player = loaded.player;
    player.start();
  };

  /** The newest state of the video, which a session granted later plays. */
  let latest: Media | null = null;
  let gate: PlaybackGate | null = null;
  /** Player starts and stops, one at a time (a grant can come while a processing update reloads the player). */
  let playerWork: Promise<void> = Promise.resolve();
  const queuePlayer = (work: () => Promise<void> | void) => {
    playerWork = playerWork.then(work, work);
  };
  const play = (token: string) =>
    queuePlayer(async () => {
      if (!latest || signal.aborted) return;
      partial = latest.processing?.status !== 'DONE';
      await startPlayer(latest, token);
    });
  const stop = () =>
    queuePlayer(() => {
      player?.destroy();
      player = null;
      quality.render([]);
    });

  const signInToWatch = () => {
    gate = null;
    stop();
    const next = encodeURIComponent(location.pathname);
    replace(
      gateSlot,
      h(
        'p',
        { class: 'notice', 'data-testid': 'sign-in-to-watch' },
        h('a', { href: `/login?next=${next}`, class: 'btn btn-primary' }, 'Sign in to watch'),
        ' Videos play for signed-in viewers.',
      ),
    );
  };

  /** Once the video can play: a session for a signed-in viewer, else the way to sign in. */
  const offerPlayback = async () => {
    const user = await currentUser();
    if (signal.aborted || gate || gateSlot.firstChild) return;
    if (!user) {
      signInToWatch();
      return;
    }
    gate = new PlaybackGate(id, signal, {
      play,
      stop,
      signedOut: () => {
        setUser(null);
        signInToWatch();
      },
    });
    replace(gateSlot, gate.element);
    gate.start();
  };

  const showFailure = (message: string) => {
    setText(failure, message);
    failure.hidden = false;
  };

  const show = async (item: Media) => {
    document.title = `${item.title} — ferrocast`;
    setText(heading, item.title);
    replace(
      meta,
      'by ',
      h('a', { href: channelPath(item.owner), 'data-testid': 'video-owner' }, item.owner),
      ' · ',
      h('time', { datetime: item.created_at }, formatDate(item.created_at)),
      ...(item.encryption ? [' · ', h('span', { 'data-testid': 'video-encrypted' }, 'Encrypted')] : []),
    );
    setText(description, item.description);
    const took = processingTimes(item.processing);
    setText(times, took ?? '');
    times.hidden = !took;
    replace(tags, ...(item.tags.length ? [tagList(item.tags)] : []));
    let label = item.kind === 'video' ? processingLabel(item.processing) : 'This is an image.';
    if (kind === 'dash' && item.processing?.status !== 'DONE' && label) label = `${label} The DASH manifest is written once every rendition is done.`;
    const done = item.processing?.status === 'DONE';
    status.hidden = done || !label;
    setText(status, label ?? '');
    latest = item;
    const ready = kind === 'dash' ? done : playable(item.processing);
    if (!ready) return;
    if (!gate && !gateSlot.firstChild) await offerPlayback();
    const token = gate?.token;
    if (token && player && partial && done) play(token);
  };

  // Processing goes on after the page opens: each change is pushed on the progress stream.
  const progress = new ProgressFollower({
    onUpdate: ({ id: changed, processing }) => {
      if (changed !== id || !processing || !latest) return;
      void show({ ...latest, processing });
    },
  });
  signal.addEventListener('abort', () => progress.stop(), { once: true });

  const load = async () => {
    try {
      const item = await api.getMedia(id, signal);
      await show(item);
      if (item.kind === 'video' && !settled(item.processing)) progress.follow([id]);
    } catch (error) {
      if (isAbortError(error)) return;
      if (error instanceof ApiError && error.status === 404) {
        setText(heading, 'No such video');
        showFailure('This video does not exist, or it is not yours to see.');
        return;
      }
      showFailure(`Could not load the video: ${error instanceof Error ? error.message : 'please try again.'}`);
      after(signal, RETRY_MS, () => void load());
    }
  };
  void load();
}

/** shaka-player's module on first need (it is large); a message when it cannot play here. */
async function loadDash(
  video: HTMLVideoElement,
  src: string,
  callbacks: PlayerCallbacks,
  options: PlayerOptions,
): Promise<{ player: VodPlayer } | { error: string }> {
  let Dash: typeof import('../../player/dash').DashPlayer;
  try {
    Dash = (await import('../../player/dash')).DashPlayer;
  } catch {
    return { error: 'The DASH player could not be loaded. Please reload the page.' };
  }
  if (!Dash.isSupported()) return { error: 'This browser cannot play DASH (it has no Media Source Extensions).' };
  return { player: new Dash(video, src, callbacks, { ...options, exposeForTests: true }) };
}
