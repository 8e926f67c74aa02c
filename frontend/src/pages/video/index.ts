/**
 * `/videos/{id}` — one uploaded video: its processing state while the worker runs, then the
 * player (hls.js over the catalogue's HLS files) with seeking, a quality menu, the poster, and
 * the position remembered per video so a reload resumes where the viewer was.
 *
 * While the video is not done the page asks for its state every two seconds; the player starts
 * as soon as a first rendition plays (fast start) and reloads once the full ladder is there.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { Media } from '../../api/types';
import { playable, processingLabel } from '../../catalog/media';
import { h, replace, setText } from '../../dom';
import { formatDate } from '../../format';
import type { LivePlayer } from '../../player/player';
import { after, onLeave } from '../../ui/lifecycle';
import { tagList } from '../../ui/media';
import { loadPlayer } from '../watch/player-loader';
import { qualityMenu } from '../watch/quality-menu';
import { savedPosition, savePosition } from './resume';

const POLL_MS = 2000;
const SAVE_EVERY_MS = 5000;

export function videoPage(root: HTMLElement, signal: AbortSignal, id: string): void {
  document.title = 'Video — ferrocast';
  const heading = h('h1', { tabindex: -1, 'data-testid': 'video-title' }, 'Loading…');
  const meta = h('p', { class: 'page-sub' });
  const status = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite', 'data-testid': 'video-status', hidden: true });
  const failure = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });
  const video = h('video', { class: 'player-video', controls: true, 'data-testid': 'vod-video', hidden: true }) as HTMLVideoElement;
  const select = h('select', { 'aria-label': 'Quality', 'data-testid': 'quality-select', disabled: true }) as HTMLSelectElement;
  const playing = h('span', { class: 'field-hint', 'data-testid': 'quality-playing' });
  const description = h('p', { class: 'media-description' });
  const tags = h('div');
  replace(
    root,
    h(
      'section',
      { class: 'page page-video' },
      h('div', { class: 'page-head' }, heading, meta),
      failure,
      status,
      h('div', { class: 'player' }, video),
      h('div', { class: 'actions' }, h('label', {}, 'Quality ', select), playing),
      description,
      tags,
    ),
  );

  let player: LivePlayer | null = null;
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

  const startPlayer = async (item: Media) => {
    const processing = item.processing;
    if (!processing?.hls_url) return;
    player?.destroy();
    player = null;
    if (processing.poster_url) video.poster = processing.poster_url;
    video.hidden = false;
    const loaded = await loadPlayer(
      video,
      processing.hls_url,
      {
        onLevels: (levels) => quality.render(levels),
        onLevelSwitched: (height) => quality.switched(height),
        onFatal: (message) => showFailure(message),
      },
      () => !signal.aborted,
    );
    if (!loaded) return;
    if ('error' in loaded) {
      showFailure(loaded.error);
      return;
    }
    player = loaded.player;
    player.start();
  };

  const showFailure = (message: string) => {
    setText(failure, message);
    failure.hidden = false;
  };

  const show = async (item: Media) => {
    document.title = `${item.title} — ferrocast`;
    setText(heading, item.title);
    replace(meta, item.owner, ' · ', h('time', { datetime: item.created_at }, formatDate(item.created_at)));
    setText(description, item.description);
    replace(tags, ...(item.tags.length ? [tagList(item.tags)] : []));
    const label = item.kind === 'video' ? processingLabel(item.processing) : 'This is an image.';
    const done = item.processing?.status === 'DONE';
    status.hidden = done || !label;
    setText(status, label ?? '');
    if (playable(item.processing) && (!player || (partial && done))) {
      partial = !done;
      await startPlayer(item);
    }
  };

  const load = async () => {
    try {
      const item = await api.getMedia(id, signal);
      await show(item);
      const finished = item.processing?.status === 'DONE' || item.processing?.status === 'FAILED';
      if (item.kind === 'video' && !finished) after(signal, POLL_MS, () => void load());
    } catch (error) {
      if (isAbortError(error)) return;
      if (error instanceof ApiError && error.status === 404) {
        setText(heading, 'No such video');
        showFailure('This video does not exist, or it is not yours to see.');
        return;
      }
      showFailure(`Could not load the video: ${error instanceof Error ? error.message : 'please try again.'}`);
      after(signal, POLL_MS, () => void load());
    }
  };
  void load();
}
