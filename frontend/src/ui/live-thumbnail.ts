/**
 * A live room's thumbnail: the picture the ingest makes of the stream about every 30 s
 * (`/hls/{username}/thumbnail.jpg`), or a placeholder while there is none.
 *
 * The URL never changes while a stream runs, so each refresh adds a stamp to the query (our own
 * origin; the ingest ignores it) to get past the browser's cache. A new picture is loaded off-
 * screen and swapped in only once it decoded, so a refresh never flashes the placeholder; a
 * failed refresh keeps the picture already shown, and a first picture that fails to load leaves
 * the placeholder up until the next try.
 */
import { h } from '../dom';

/** How often a shown thumbnail is fetched again: the ingest's default refresh. */
export const THUMBNAIL_REFRESH_MS = 30_000;

/** `url` with a cache-busting `t` parameter; an existing query is kept. */
export function stampedUrl(url: string, stamp: number): string {
  const [path = '', query = ''] = url.split('?', 2);
  const params = new URLSearchParams(query);
  params.set('t', String(stamp));
  return `${path}?${params.toString()}`;
}

export interface LiveThumbnail {
  readonly element: HTMLElement;
  /** The room's `thumbnail_url` (null: none yet); loads it when it changed. */
  set(url: string | null): void;
  /** Fetches the current picture again. */
  refresh(): void;
}

export function liveThumbnail(placeholder: () => HTMLElement, now: () => number = Date.now): LiveThumbnail {
  const element = h('div', { class: 'thumb-media' }, placeholder());
  let current: string | null = null;
  let shown: HTMLImageElement | null = null;
  /** Bumped per load, so a slow answer never replaces a newer one. */
  let attempt = 0;

  const load = (url: string) => {
    const mine = ++attempt;
    const img = h('img', { alt: '', decoding: 'async', 'data-testid': 'room-thumbnail' });
    img.addEventListener(
      'load',
      () => {
        if (mine !== attempt || current !== url) return;
        shown = img;
        element.replaceChildren(img);
      },
      { once: true },
    );
    img.addEventListener(
      'error',
      () => {
        if (mine === attempt && !shown) element.replaceChildren(placeholder());
      },
      { once: true },
    );
    img.src = stampedUrl(url, now());
  };

  return {
    element,
    set(url) {
      if (url === current) return;
      current = url;
      shown = null;
      attempt++;
      element.replaceChildren(placeholder());
      if (url) load(url);
    },
    refresh() {
      if (current) load(current);
    },
  };
}
