/**
 * The watch page's elements and how each piece of room data is drawn into them.
 *
 * Only building and drawing: whether the room is live, and what to show for it, is decided by
 * the page (`index.ts`) and `state.ts`. The `data-testid`s are what the unit and e2e tests read.
 */
import type { Room } from '../../api/types';
import { h, setText } from '../../dom';
import { formatLiveFor, formatViewers } from '../../format';
import { channelPath } from '../../router';
import type { Presentation } from './state';

export interface WatchView {
  /** The whole page, ready to be placed in the router's root. */
  readonly page: HTMLElement;
  readonly playerBox: HTMLDivElement;
  readonly video: HTMLVideoElement;
  readonly loadingOverlay: HTMLDivElement;
  readonly ended: HTMLDivElement;
  readonly endedHeading: HTMLHeadingElement;
  readonly endedText: HTMLParagraphElement;
  readonly errorBox: HTMLDivElement;
  readonly playButton: HTMLButtonElement;
  readonly title: HTMLHeadingElement;
  readonly liveBadge: HTMLSpanElement;
  readonly viewers: HTMLSpanElement;
  readonly liveFor: HTMLSpanElement;
  /** Screen-reader announcements (`aria-live`). */
  readonly status: HTMLParagraphElement;
  readonly unmute: HTMLButtonElement;
  readonly fullscreen: HTMLButtonElement;
  readonly quality: HTMLSelectElement;
  readonly playing: HTMLSpanElement;
}

export function watchView(username: string): WatchView {
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

  const page = h(
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
        h(
          'p',
          { class: 'watch-meta' },
          h('a', { class: 'watch-user', href: channelPath(username), 'data-testid': 'watch-channel' }, username),
          liveBadge,
          viewers,
          liveFor,
        ),
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
  );

  return {
    page,
    playerBox,
    video,
    loadingOverlay,
    ended,
    endedHeading,
    endedText,
    errorBox,
    playButton,
    title,
    liveBadge,
    viewers,
    liveFor,
    status,
    unmute,
    fullscreen,
    quality,
    playing,
  };
}

/** Shows what `present` decided for the page's state. */
export function showPresentation(view: WatchView, p: Presentation): void {
  view.loadingOverlay.hidden = !p.spinner;
  view.ended.hidden = !p.endedCard;
  view.errorBox.hidden = !p.error;
  view.liveBadge.hidden = !p.liveInfo;
  view.viewers.hidden = !p.liveInfo;
  view.liveFor.hidden = !p.liveInfo;
  if (p.hidePlayButton) view.playButton.hidden = true;
  view.playerBox.classList.toggle('is-offline', p.dimmed);
  if (p.endedHeading !== undefined) setText(view.endedHeading, p.endedHeading);
  if (p.endedText !== undefined) setText(view.endedText, p.endedText);
  if (p.errorText !== undefined) setText(view.errorBox, p.errorText);
  if (p.announce !== undefined) setText(view.status, p.announce);
}

/** Title, tab title, viewer count and time live of a live room. */
export function showRoom(view: WatchView, room: Room, username: string): void {
  const text = room.title.trim() || `${username} is live`;
  setText(view.title, text);
  document.title = `${text} — ${username} — ferrocast`;
  showViewers(view, room.viewers);
  showLiveFor(view, room);
}

export function showViewers(view: WatchView, count: number): void {
  setText(view.viewers, formatViewers(count));
  view.viewers.dataset.count = String(count);
}

export function showLiveFor(view: WatchView, room: Room): void {
  setText(view.liveFor, formatLiveFor(room.started_at));
}
