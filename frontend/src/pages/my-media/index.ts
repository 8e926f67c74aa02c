/**
 * `/media` — "My media": the signed-in user's own items of every status and visibility
 * (`GET /api/media?owner=<me>`), each with its status, size, visibility and tags, an inline
 * editor, a download of the original, and delete behind the confirm dialog. Visitors are sent to log in and brought back.
 * A video's processing is followed live (`GET /api/media/progress`) while it runs: its line and
 * its Watch link change in place, without reloading the list or asking item by item.
 */
import { api } from '../../api/endpoints';
import { isAbortError } from '../../api/error';
import type { Media } from '../../api/types';
import { playable, processingLabel, statusLabel, visibilityLabel } from '../../catalog/media';
import { ProgressFollower, settled, stillProcessing } from '../../catalog/progress';
import { h, replace, setText } from '../../dom';
import { formatBytes, formatDate } from '../../format';
import { navigate, videoPath } from '../../router';
import { currentUser, handleExpiredSession } from '../../session';
import { confirmDialog } from '../../ui/confirm';
import { onLeave } from '../../ui/lifecycle';
import { mediaThumb, tagList } from '../../ui/media';
import { editForm } from './edit-form';

const PAGE_SIZE = 24;

export function myMediaPage(root: HTMLElement, signal: AbortSignal): void {
  document.title = 'My media — ferrocast';
  const summary = h('p', { class: 'page-sub', role: 'status', 'aria-live': 'polite', 'data-testid': 'media-summary' }, 'Loading…');
  const list = h('ul', { class: 'media-list', 'aria-label': 'My media', 'data-testid': 'media-list' });
  const failure = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Show more');
  const empty = h(
    'div',
    { class: 'empty-state', 'data-testid': 'media-empty', hidden: true },
    h('h2', {}, 'Nothing here yet'),
    h('p', {}, h('a', { href: '/upload' }, 'Upload a video or an image'), ' and it shows up here.'),
  );
  replace(
    root,
    h(
      'section',
      { class: 'page page-media' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', { tabindex: -1 }, 'My media'),
        summary,
        h('a', { href: '/upload', class: 'btn btn-primary page-action', 'data-testid': 'media-upload' }, 'Upload'),
      ),
      failure,
      list,
      h('div', { class: 'center' }, more),
      empty,
    ),
  );

  let owner = '';
  let items: Media[] = [];
  let cursor: string | null = null;
  let editing: string | null = null;

  const progress = new ProgressFollower({
    onUpdate: ({ id, processing }) => {
      const before = items.find((i) => i.id === id);
      if (!before || !processing) return;
      const item = { ...before, processing };
      items = items.map((i) => (i.id === id ? item : i));
      const li = list.querySelector<HTMLElement>(`[data-id="${CSS.escape(id)}"]`);
      if (li) showProcessing(li, item);
      if (settled(processing) && !settled(before.processing)) {
        setText(summary, processing.status === 'DONE' ? `“${item.title}” is ready to watch.` : `“${item.title}” could not be processed.`);
      }
    },
  });
  onLeave(signal, () => progress.stop());

  const render = () => {
    replace(list, ...items.map((item) => row(item)));
    empty.hidden = items.length > 0;
    list.hidden = items.length === 0;
    more.hidden = !cursor;
    setText(summary, items.length === 1 ? '1 item' : `${items.length}${cursor ? '+' : ''} items`);
    progress.follow(items.filter(stillProcessing).map((i) => i.id));
  };

  /** A video's processing line and Watch link, as `item` says now. */
  const showProcessing = (li: HTMLElement, item: Media) => {
    const line = li.querySelector<HTMLElement>('[data-testid="media-processing"]');
    const watch = li.querySelector<HTMLElement>('[data-testid="media-watch"]');
    const label = processingLabel(item.processing);
    if (line) {
      setText(line, label ?? '');
      line.hidden = !label;
    }
    if (watch) watch.hidden = !playable(item.processing);
  };

  const row = (item: Media): HTMLElement => {
    const details = h(
      'div',
      { class: 'media-row-body' },
      h('h2', { class: 'media-title', 'data-testid': 'media-title' }, item.title),
      h(
        'p',
        { class: 'media-meta' },
        h('span', { class: `badge badge-status badge-${item.status}`, 'data-testid': 'media-status' }, statusLabel(item.status)),
        h('span', { class: 'badge badge-offline', 'data-testid': 'media-visibility' }, visibilityLabel(item.visibility)),
        h('span', { 'data-testid': 'media-size' }, formatBytes(item.size)),
        h('span', {}, item.kind === 'video' ? 'Video' : 'Image'),
        h('time', { datetime: item.created_at }, formatDate(item.created_at)),
      ),
      item.description ? h('p', { class: 'media-description' }, item.description) : null,
      item.tags.length ? tagList(item.tags) : null,
      item.status === 'awaiting_upload'
        ? h('p', { class: 'field-hint' }, 'The upload did not finish; it is removed after a day unless it is completed.')
        : null,
      // Kept in the row while hidden, so live progress changes them in place.
      item.kind === 'video' ? h('p', { class: 'field-hint', 'data-testid': 'media-processing' }) : null,
      item.kind === 'video' ? h('a', { href: videoPath(item.id), 'data-testid': 'media-watch' }, 'Watch') : null,
    );
    const edit = h('button', { type: 'button', class: 'btn', 'data-testid': 'media-edit', 'aria-label': `Edit ${item.title}` }, 'Edit');
    const remove = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'media-delete', 'aria-label': `Delete ${item.title}` }, 'Delete');
    const download =
      item.status === 'uploaded'
        ? h('button', { type: 'button', class: 'btn', 'data-testid': 'media-download', 'aria-label': `Download ${item.title}` }, 'Download')
        : null;
    const actions = h('div', { class: 'actions media-actions' }, edit, download, remove);
    const li = h('li', { class: 'card media-row', 'data-testid': 'media-item', 'data-id': item.id }, mediaThumb(item), details, actions);
    showProcessing(li, item);

    if (editing === item.id) {
      const form = editForm(item, signal, (saved) => {
        editing = null;
        if (saved) items = items.map((i) => (i.id === saved.id ? saved : i));
        render();
        list.querySelector<HTMLButtonElement>(`[data-id="${CSS.escape(item.id)}"] [data-testid="media-edit"]`)?.focus();
        if (saved) setText(summary, `Saved “${saved.title}”.`);
      });
      li.append(form.element);
      edit.hidden = true;
      queueMicrotask(() => form.focus());
    }

    edit.addEventListener('click', () => {
      editing = item.id;
      render();
    });
    // The link is short-lived, so it is asked for on the click rather than put in an href.
    download?.addEventListener('click', async () => {
      download.disabled = true;
      try {
        const link = await api.mediaOriginal(item.id, signal);
        window.location.assign(link.url);
      } catch (error) {
        if (isAbortError(error) || handleExpiredSession(error)) return;
        showFailure(`Could not download “${item.title}”: ${error instanceof Error ? error.message : 'please try again.'}`);
      } finally {
        download.disabled = false;
      }
    });
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Delete this item?',
        body: `“${item.title}” and its file are deleted for good.`,
        confirmLabel: 'Delete',
        danger: true,
      });
      if (!ok) return;
      remove.disabled = true;
      try {
        await api.deleteMedia(item.id, signal);
        items = items.filter((i) => i.id !== item.id);
        render();
        setText(summary, `Deleted “${item.title}”.`);
        root.querySelector<HTMLElement>('h1')?.focus();
      } catch (error) {
        remove.disabled = false;
        if (isAbortError(error) || handleExpiredSession(error)) return;
        showFailure(`Could not delete “${item.title}”: ${error instanceof Error ? error.message : 'please try again.'}`);
      }
    });
    return li;
  };

  const showFailure = (message: string) => {
    setText(failure, message);
    failure.hidden = false;
  };

  const load = async (next: string | null) => {
    more.disabled = true;
    try {
      const page = await api.searchMedia({ owner, cursor: next, limit: PAGE_SIZE }, signal);
      const known = new Set(items.map((i) => i.id));
      items = next ? [...items, ...page.items.filter((i) => !known.has(i.id))] : page.items;
      cursor = page.next_cursor ?? null;
      failure.hidden = true;
      render();
    } catch (error) {
      if (isAbortError(error) || handleExpiredSession(error)) return;
      showFailure(`Could not load your media: ${error instanceof Error ? error.message : 'please try again.'}`);
      if (!items.length) setText(summary, '');
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load(cursor));

  void currentUser().then((user) => {
    if (signal.aborted) return;
    if (!user) {
      navigate('/login?next=%2Fmedia', { replace: true });
      return;
    }
    owner = user.username;
    void load(null);
  });
}
