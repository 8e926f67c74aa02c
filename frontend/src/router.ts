/**
 * Client-side routing on the History API.
 *
 * The gateway answers every unknown path with index.html (SPA fallback), so any browser route in
 * docs/api.md can be loaded directly. `matchRoute` is pure and unit-tested; `startRouter` wires it
 * to `popstate` and to clicks on same-origin links, so pages use plain `<a href>` elements that
 * keep working with middle-click, "open in new tab" and without JavaScript-aware markup.
 */

export type Route =
  | { name: 'home' }
  | { name: 'watch'; username: string }
  | { name: 'channel'; username: string }
  | { name: 'login'; next: string | null }
  | { name: 'signup' }
  | { name: 'dashboard' }
  | { name: 'upload' }
  | { name: 'my_media' }
  | { name: 'library'; q: string; tags: string[] }
  | { name: 'video'; id: string; player: VideoPlayerKind }
  | { name: 'devices' }
  | { name: 'not_found' };

/** `/videos/{id}` plays HLS (hls.js), `/videos/{id}/dash` the DASH manifest (shaka-player). */
export type VideoPlayerKind = 'hls' | 'dash';

/** Usernames are `^[a-z0-9_]{3,24}$` and case-folded by the server. */
const USERNAME = /^[a-z0-9_]{3,24}$/;
/** Media ids are UUIDs. */
const MEDIA_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Maps a location (path plus optional query) to a route. A trailing slash is tolerated;
 * `/watch/Alice` is folded to `alice` because usernames are case-insensitive.
 */
export function matchRoute(pathname: string, search = ''): Route {
  let path = pathname.replace(/\/+$/, '') || '/';
  try {
    path = decodeURIComponent(path);
  } catch {
    return { name: 'not_found' };
  }
  if (path === '/') return { name: 'home' };
  if (path === '/login') return { name: 'login', next: safeNext(new URLSearchParams(search).get('next')) };
  if (path === '/signup') return { name: 'signup' };
  if (path === '/dashboard') return { name: 'dashboard' };
  if (path === '/upload') return { name: 'upload' };
  if (path === '/media') return { name: 'my_media' };
  if (path === '/devices') return { name: 'devices' };
  if (path === '/library') return { name: 'library', ...libraryQuery(search) };
  const video = /^\/videos\/([^/]+)(\/dash)?$/.exec(path);
  if (video?.[1]) {
    const id = video[1].toLowerCase();
    if (MEDIA_ID.test(id)) return { name: 'video', id, player: video[2] ? 'dash' : 'hls' };
  }
  const watch = /^\/watch\/([^/]+)$/.exec(path);
  if (watch?.[1]) {
    const username = watch[1].toLowerCase();
    if (USERNAME.test(username)) return { name: 'watch', username };
  }
  const channel = /^\/c\/([^/]+)$/.exec(path);
  if (channel?.[1]) {
    const username = channel[1].toLowerCase();
    if (USERNAME.test(username)) return { name: 'channel', username };
  }
  return { name: 'not_found' };
}

/**
 * Only same-site paths may be a post-login destination: `//evil.example` and `https://…` would
 * turn the login form into an open redirect.
 */
export function safeNext(next: string | null): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return null;
  return next;
}

/** The library's search (`?q=…&tags=a,b`), so a search can be linked to and survives a reload. */
function libraryQuery(search: string): { q: string; tags: string[] } {
  const params = new URLSearchParams(search);
  const tags = (params.get('tags') ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  return { q: params.get('q') ?? '', tags: [...new Set(tags)] };
}

export function libraryPath(query: { q?: string; tags?: readonly string[] } = {}): string {
  const params = new URLSearchParams();
  if (query.q?.trim()) params.set('q', query.q.trim());
  if (query.tags?.length) params.set('tags', query.tags.join(','));
  const qs = params.toString();
  return qs ? `/library?${qs}` : '/library';
}

export function videoPath(id: string, player: VideoPlayerKind = 'hls'): string {
  return `/videos/${encodeURIComponent(id)}${player === 'dash' ? '/dash' : ''}`;
}

export function watchPath(username: string): string {
  return `/watch/${encodeURIComponent(username)}`;
}

/** A user's channel: their live player, past broadcasts and uploads. */
export function channelPath(username: string): string {
  return `/c/${encodeURIComponent(username)}`;
}

type RouteHandler = (route: Route) => void;

let handler: RouteHandler | null = null;

/** Changes the URL and renders the new route; `replace` for redirects the Back button should skip. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render();
}

function render(): void {
  handler?.(matchRoute(location.pathname, location.search));
}

/** Decides whether a click on a link should be handled in-page rather than by the browser. */
export function shouldIntercept(event: MouseEvent, anchor: HTMLAnchorElement, origin: string): boolean {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (anchor.target && anchor.target !== '_self') return false;
  if (anchor.hasAttribute('download') || anchor.getAttribute('rel')?.includes('external')) return false;
  const url = new URL(anchor.href, origin);
  if (url.origin !== origin) return false;
  // /api and /hls are served by the gateway, not by this app.
  return !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/hls/');
}

export function startRouter(onRoute: RouteHandler): void {
  handler = onRoute;
  window.addEventListener('popstate', render);
  document.addEventListener('click', (event) => {
    const anchor = (event.target as Element | null)?.closest?.('a[href]');
    if (!(anchor instanceof HTMLAnchorElement)) return;
    if (!shouldIntercept(event, anchor, location.origin)) return;
    event.preventDefault();
    const url = new URL(anchor.href);
    const to = url.pathname + url.search + url.hash;
    if (to !== location.pathname + location.search + location.hash) navigate(to);
  });
  render();
}
