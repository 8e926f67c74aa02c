/**
 * `/library` — public videos and images: a search box with results as you type (250 ms after
 * the last key; an older answer arriving late is dropped), the most used tags as toggle
 * chips that filter, and "Show more" through the cursor. The search lives in the URL
 * (`?q=…&tags=…`, replaced, not pushed, on each change) so it can be shared and survives a
 * reload. Open to everyone. Videos still being processed say how far they are, followed live
 * (`GET /api/media/progress`) and changed in place.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { Media, MediaPage } from '../../api/types';
import { processingLabel } from '../../catalog/media';
import { ProgressFollower, stillProcessing } from '../../catalog/progress';
import { h, replace, setText } from '../../dom';
import { formatDate } from '../../format';
import { liveQuery } from '../../live-query';
import { libraryPath, videoPath } from '../../router';
import { after, onLeave } from '../../ui/lifecycle';
import { mediaThumb, tagList } from '../../ui/media';

const PAGE_SIZE = 24;
/** The catalogue filters by at most this many tags at once. */
export const MAX_TAG_FILTERS = 5;
const TOP_TAGS = 24;

export interface Search {
  q: string;
  tags: string[];
}

/** Adds `tag` to the filter, or takes it out when it is there; the oldest goes past the limit. */
export function toggleTag(tags: readonly string[], tag: string): string[] {
  if (tags.includes(tag)) return tags.filter((t) => t !== tag);
  return [...tags, tag].slice(-MAX_TAG_FILTERS);
}

/** What the results line says. */
export function resultsSummary(search: Search, count: number, more: boolean): string {
  const n = more ? `${count}+` : String(count);
  const found = count === 1 && !more ? '1 result' : `${n} results`;
  const parts = [];
  if (search.q.trim()) parts.push(`for “${search.q.trim()}”`);
  if (search.tags.length) parts.push(`tagged ${search.tags.join(', ')}`);
  if (!parts.length) return count === 0 ? 'Nothing has been shared yet.' : `${found}, newest first`;
  return `${found} ${parts.join(' ')}`;
}

/** How far a video's processing is, until it is done (kept while hidden, so it changes in place). */
function processingLine(item: Media): HTMLElement {
  const line = h('p', { class: 'media-meta', 'data-testid': 'library-processing' });
  showProcessing(line, item);
  return line;
}

function showProcessing(line: HTMLElement, item: Media): void {
  const label = item.processing && item.processing.status !== 'DONE' ? processingLabel(item.processing) : null;
  setText(line, label ?? '');
  line.hidden = !label;
}

export function libraryPage(root: HTMLElement, signal: AbortSignal, initial: Search): void {
  document.title = 'Library — ferrocast';
  let search: Search = { q: initial.q, tags: [...initial.tags] };
  let items: Media[] = [];
  let cursor: string | null = null;
  let busyRetries = 0;

  const box = h('input', {
    id: 'library-q',
    type: 'search',
    name: 'q',
    autocomplete: 'off',
    placeholder: 'Titles and descriptions',
    'data-testid': 'library-search',
  });
  box.value = search.q;
  const searchForm = h(
    'form',
    { class: 'library-search', role: 'search', 'data-testid': 'library-search-form' },
    h('label', { for: 'library-q' }, 'Search the library'),
    h('div', { class: 'search-row' }, box, h('button', { type: 'submit', class: 'btn' }, 'Search')),
  );
  const tagBar = h('div', { class: 'tag-bar', 'data-testid': 'top-tags', hidden: true });
  const summary = h('p', { class: 'page-sub', role: 'status', 'aria-live': 'polite', 'data-testid': 'library-summary' }, 'Loading…');
  const grid = h('ul', { class: 'media-grid', 'aria-label': 'Results', 'data-testid': 'library-results' });
  const failure = h('div', { class: 'notice notice-error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'load-more', hidden: true }, 'Show more');

  replace(
    root,
    h(
      'section',
      { class: 'page page-library' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Library')),
      searchForm,
      tagBar,
      summary,
      failure,
      grid,
      h('div', { class: 'center' }, more),
    ),
  );

  let topTags: string[] = [];
  const renderTags = () => {
    // Chosen tags stay visible even when they are not among the most used.
    const shown = [...search.tags.filter((t) => !topTags.includes(t)), ...topTags];
    tagBar.hidden = shown.length === 0;
    replace(tagBar, tagList(shown, { onTag: (tag) => setSearch({ ...search, tags: toggleTag(search.tags, tag) }), selected: search.tags, label: 'Filter by tag' }));
  };

  const card = (item: Media) =>
    h(
      'li',
      { class: 'media-card', 'data-testid': 'library-item', 'data-id': item.id },
      mediaThumb(item),
      h(
        'div',
        { class: 'media-card-body' },
        h(
          'h2',
          { class: 'media-title', 'data-testid': 'library-title' },
          item.kind === 'video' ? h('a', { href: videoPath(item.id) }, item.title) : item.title,
        ),
        h('p', { class: 'media-meta' }, h('span', { 'data-testid': 'library-owner' }, item.owner), ' · ', h('time', { datetime: item.created_at }, formatDate(item.created_at))),
        item.kind === 'video' ? processingLine(item) : null,
        item.tags.length
          ? tagList(item.tags, { onTag: (tag) => setSearch({ ...search, tags: toggleTag(search.tags, tag) }), selected: search.tags, label: `Tags of ${item.title}` })
          : null,
      ),
    );

  const progress = new ProgressFollower({
    onUpdate: ({ id, processing }) => {
      if (!processing || !items.some((i) => i.id === id)) return;
      items = items.map((i) => (i.id === id ? { ...i, processing } : i));
      const line = grid.querySelector<HTMLElement>(`[data-id="${CSS.escape(id)}"] [data-testid="library-processing"]`);
      const item = items.find((i) => i.id === id);
      if (line && item) showProcessing(line, item);
    },
  });
  onLeave(signal, () => progress.stop());

  const render = () => {
    replace(grid, ...items.map(card));
    grid.hidden = items.length === 0;
    more.hidden = !cursor;
    setText(summary, resultsSummary(search, items.length, Boolean(cursor)));
    progress.follow(items.filter(stillProcessing).map((i) => i.id));
  };

  const query = liveQuery<Search, MediaPage>({
    delayMs: 250,
    run: (s, querySignal) => api.searchMedia({ q: s.q, tags: s.tags, limit: PAGE_SIZE }, querySignal),
    onStart: () => grid.setAttribute('aria-busy', 'true'),
    onAnswer: (page) => {
      busyRetries = 0;
      grid.removeAttribute('aria-busy');
      failure.hidden = true;
      items = page.items;
      cursor = page.next_cursor ?? null;
      render();
    },
    onError: (error, s) => {
      grid.removeAttribute('aria-busy');
      // 503 `busy`: the catalogue sheds searches under load; ask again when it says to.
      if (error instanceof ApiError && error.status === 503 && busyRetries < 3) {
        busyRetries += 1;
        setText(summary, 'Search is busy; trying again…');
        after(signal, error.retryAfterMs ?? 1000 * busyRetries, () => {
          if (s === search) query.now(search);
        });
        return;
      }
      setText(failure, `Could not search: ${error instanceof Error ? error.message : 'please try again.'}`);
      failure.hidden = false;
      setText(summary, '');
    },
  });
  signal.addEventListener('abort', () => query.cancel(), { once: true });

  function setSearch(next: Search, options: { debounce?: boolean } = {}) {
    search = next;
    history.replaceState(null, '', libraryPath(search));
    renderTags();
    if (options.debounce) query.update(search);
    else query.now(search);
  }

  box.addEventListener('input', () => setSearch({ ...search, q: box.value }, { debounce: true }));
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    setSearch({ ...search, q: box.value });
  });

  more.addEventListener('click', async () => {
    if (!cursor) return;
    const asked = search;
    more.disabled = true;
    try {
      const page = await api.searchMedia({ q: asked.q, tags: asked.tags, cursor, limit: PAGE_SIZE }, signal);
      if (asked !== search) return;
      const known = new Set(items.map((i) => i.id));
      items = [...items, ...page.items.filter((i) => !known.has(i.id))];
      cursor = page.next_cursor ?? null;
      render();
    } catch (error) {
      if (isAbortError(error)) return;
      setText(failure, `Could not load more: ${error instanceof Error ? error.message : 'please try again.'}`);
      failure.hidden = false;
    } finally {
      more.disabled = false;
    }
  });

  const loadTags = async () => {
    try {
      topTags = (await api.tags({ limit: TOP_TAGS }, signal)).tags.map((t) => t.tag);
      renderTags();
    } catch {
      // The search works without the chips.
    }
  };

  renderTags();
  void loadTags();
  query.now(search);
}
