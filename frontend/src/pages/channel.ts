/**
 * `/c/{username}` — a user's channel: their live player (the watch page itself, so live,
 * offline and ended states behave exactly as there), then their past broadcasts and their
 * uploads, newest first.
 *
 * The user is looked up first (`GET /api/users/profiles/{username}`): an unknown name gets a
 * clear "no such channel" rather than an offline player and empty lists. If the users service
 * cannot answer, the channel is shown anyway. The lists come from the catalogue's owner filter,
 * which shows others only public, uploaded items; the page shows exactly those to the owner
 * too, so a channel looks the same to everyone. Past broadcasts are the videos the ingest
 * recorded, tagged `past-broadcast`.
 */
import { api } from '../api/endpoints';
import { ApiError, isAbortError } from '../api/error';
import type { Media } from '../api/types';
import { processingLabel } from '../catalog/media';
import { h, replace, setText } from '../dom';
import { formatDate } from '../format';
import { videoPath } from '../router';
import { mediaThumb } from '../ui/media';
import { watchPage } from './watch';

/** The tag the catalogue gives every recorded broadcast. */
export const PAST_BROADCAST_TAG = 'past-broadcast';
/** Items read for the lists; the newest ones are what a channel page is for. */
const LIST_SIZE = 48;

export interface ChannelSections {
  past: Media[];
  uploads: Media[];
}

/**
 * The channel's public, uploaded items, split into past broadcasts and uploads, each newest
 * first (whatever order they came in).
 */
export function channelSections(items: readonly Media[]): ChannelSections {
  const shown = items
    .filter((item) => item.visibility === 'public' && item.status === 'uploaded')
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  return {
    past: shown.filter((item) => item.tags.includes(PAST_BROADCAST_TAG)),
    uploads: shown.filter((item) => !item.tags.includes(PAST_BROADCAST_TAG)),
  };
}

export function channelPage(root: HTMLElement, signal: AbortSignal, username: string): void {
  document.title = `${username} — ferrocast`;
  const live = h('div', { class: 'channel-live', 'data-testid': 'channel-live' });
  const past = listSection('Past broadcasts', 'channel-past', 'No past broadcasts yet.');
  const uploads = listSection('Uploads', 'channel-uploads', 'No uploads yet.');
  const failure = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });
  replace(root, h('section', { class: 'page page-channel', 'data-testid': 'channel' }, live, failure, past.element, uploads.element));

  const loadLists = async () => {
    try {
      const page = await api.searchMedia({ owner: username, limit: LIST_SIZE }, signal);
      const sections = channelSections(page.items);
      past.show(sections.past);
      uploads.show(sections.uploads);
    } catch (error) {
      if (isAbortError(error)) return;
      setText(failure, `Could not load ${username}'s videos: ${error instanceof Error ? error.message : 'please try again.'}`);
      failure.hidden = false;
    }
  };

  const start = () => {
    watchPage(live, signal, username);
    void loadLists();
  };

  api.profile(username, signal).then(start, (error: unknown) => {
    if (isAbortError(error)) return;
    if (error instanceof ApiError && error.isNotFound) {
      document.title = 'No such channel — ferrocast';
      replace(
        root,
        h(
          'section',
          { class: 'page page-channel', 'data-testid': 'channel-not-found' },
          h('h1', { tabindex: -1 }, 'No such channel'),
          h('p', {}, `There is no ferrocast user called “${username}”.`),
          h('p', {}, h('a', { href: '/', class: 'btn' }, 'Browse live channels')),
        ),
      );
      return;
    }
    start();
  });
}

interface ListSection {
  element: HTMLElement;
  show(items: readonly Media[]): void;
}

function listSection(title: string, testid: string, emptyText: string): ListSection {
  const list = h('ul', { class: 'media-grid', 'aria-label': title, 'data-testid': testid });
  const empty = h('p', { class: 'page-sub', hidden: true }, emptyText);
  const status = h('p', { class: 'page-sub', role: 'status' }, 'Loading…');
  const element = h('section', { class: 'channel-section' }, h('h2', {}, title), status, list, empty);
  return {
    element,
    show(items) {
      status.remove();
      replace(list, ...items.map(itemCard));
      list.hidden = items.length === 0;
      empty.hidden = items.length > 0;
    },
  };
}

function itemCard(item: Media): HTMLElement {
  const poster = item.processing?.poster_url;
  const thumb = poster ? h('div', { class: 'thumb media-thumb' }, h('img', { src: poster, alt: '', loading: 'lazy', decoding: 'async' })) : mediaThumb(item);
  const label = item.kind === 'video' && item.processing?.status !== 'DONE' ? processingLabel(item.processing) : null;
  return h(
    'li',
    { class: 'media-card', 'data-testid': 'channel-item', 'data-id': item.id },
    thumb,
    h(
      'div',
      { class: 'media-card-body' },
      h('h3', { class: 'media-title', 'data-testid': 'channel-item-title' }, item.kind === 'video' ? h('a', { href: videoPath(item.id) }, item.title) : item.title),
      h('p', { class: 'media-meta' }, h('time', { datetime: item.created_at }, formatDate(item.created_at))),
      label ? h('p', { class: 'media-meta' }, label) : null,
    ),
  );
}
