/** Route matching, post-login redirect safety, and which link clicks the router takes over. */
import { describe, expect, it } from 'vitest';
import { channelPath, libraryPath, matchRoute, safeNext, shouldIntercept, videoPath, watchPath } from './router';

describe('matchRoute', () => {
  it('matches the browser routes of docs/api.md', () => {
    expect(matchRoute('/')).toEqual({ name: 'home' });
    expect(matchRoute('/signup')).toEqual({ name: 'signup' });
    expect(matchRoute('/dashboard')).toEqual({ name: 'dashboard' });
    expect(matchRoute('/login')).toEqual({ name: 'login', next: null });
    expect(matchRoute('/watch/alice_01')).toEqual({ name: 'watch', username: 'alice_01' });
    expect(matchRoute('/upload')).toEqual({ name: 'upload' });
    expect(matchRoute('/media')).toEqual({ name: 'my_media' });
    expect(matchRoute('/devices')).toEqual({ name: 'devices' });
    expect(matchRoute('/library')).toEqual({ name: 'library', q: '', tags: [] });
    expect(matchRoute('/c/alice_01')).toEqual({ name: 'channel', username: 'alice_01' });
  });

  it('matches channels like watch pages, by a valid username only', () => {
    expect(matchRoute(channelPath('bob'))).toEqual({ name: 'channel', username: 'bob' });
    expect(matchRoute('/c/Bob/')).toEqual({ name: 'channel', username: 'bob' });
    expect(matchRoute('/c/ab')).toEqual({ name: 'not_found' });
    expect(matchRoute('/c/%2e%2e')).toEqual({ name: 'not_found' });
    expect(matchRoute('/c/bob/videos')).toEqual({ name: 'not_found' });
  });

  it('reads the library search from the query, tags folded and once each', () => {
    expect(matchRoute('/library', '?q=speed+run&tags=Rust,,obs,rust')).toEqual({ name: 'library', q: 'speed run', tags: ['rust', 'obs'] });
    expect(libraryPath({ q: ' speed run ', tags: ['rust', 'speed run'] })).toBe('/library?q=speed+run&tags=rust%2Cspeed+run');
    expect(libraryPath({ q: '  ' })).toBe('/library');
    const back = new URL(libraryPath({ q: 'a&b', tags: ['c d'] }), 'http://x');
    expect(matchRoute(back.pathname, back.search)).toEqual({ name: 'library', q: 'a&b', tags: ['c d'] });
  });

  it('tolerates a trailing slash and folds the username to lower case', () => {
    expect(matchRoute('/dashboard/')).toEqual({ name: 'dashboard' });
    expect(matchRoute('/watch/Alice/')).toEqual({ name: 'watch', username: 'alice' });
  });

  it('refuses usernames the server could never have issued', () => {
    expect(matchRoute('/watch/ab')).toEqual({ name: 'not_found' });
    expect(matchRoute('/watch/a-b-c')).toEqual({ name: 'not_found' });
    expect(matchRoute('/watch/%2e%2e')).toEqual({ name: 'not_found' });
    expect(matchRoute('/watch/alice/extra')).toEqual({ name: 'not_found' });
    expect(matchRoute('/watch/')).toEqual({ name: 'not_found' });
    expect(matchRoute('/watch/%E0%A4%A')).toEqual({ name: 'not_found' });
  });

  it('sends unknown paths to not_found', () => {
    expect(matchRoute('/nope')).toEqual({ name: 'not_found' });
    expect(matchRoute('/dashboardx')).toEqual({ name: 'not_found' });
  });

  it('keeps a safe post-login destination from the query', () => {
    expect(matchRoute('/login', '?next=%2Fdashboard')).toEqual({ name: 'login', next: '/dashboard' });
    expect(matchRoute('/login', '?next=https://evil.example')).toEqual({ name: 'login', next: null });
  });
});

describe('safeNext', () => {
  it('allows only same-site paths', () => {
    expect(safeNext('/watch/bob')).toBe('/watch/bob');
    expect(safeNext('//evil.example/x')).toBeNull();
    expect(safeNext('/\\evil.example')).toBeNull();
    expect(safeNext('https://evil.example')).toBeNull();
    expect(safeNext('dashboard')).toBeNull();
    expect(safeNext(null)).toBeNull();
  });
});

describe('watchPath', () => {
  it('builds the watch URL', () => {
    expect(watchPath('bob')).toBe('/watch/bob');
  });
});

describe('shouldIntercept', () => {
  const origin = 'http://ferrocast.test';
  const anchor = (href: string, attrs: Record<string, string> = {}) => {
    const a = document.createElement('a');
    a.href = new URL(href, origin).href;
    for (const [k, v] of Object.entries(attrs)) a.setAttribute(k, v);
    return a;
  };
  const click = (init: MouseEventInit = {}) => new MouseEvent('click', { button: 0, ...init });

  it('handles plain left clicks on app links', () => {
    expect(shouldIntercept(click(), anchor('/dashboard'), origin)).toBe(true);
  });

  it('leaves modified clicks, new tabs, downloads and other origins to the browser', () => {
    expect(shouldIntercept(click({ ctrlKey: true }), anchor('/dashboard'), origin)).toBe(false);
    expect(shouldIntercept(click({ metaKey: true }), anchor('/dashboard'), origin)).toBe(false);
    expect(shouldIntercept(click({ button: 1 }), anchor('/dashboard'), origin)).toBe(false);
    expect(shouldIntercept(click(), anchor('/dashboard', { target: '_blank' }), origin)).toBe(false);
    expect(shouldIntercept(click(), anchor('/dashboard', { download: '' }), origin)).toBe(false);
    expect(shouldIntercept(click(), anchor('https://obsproject.com/'), origin)).toBe(false);
  });

  it('leaves gateway paths (/api, /hls) to the browser', () => {
    expect(shouldIntercept(click(), anchor('/api/users/openapi.json'), origin)).toBe(false);
    expect(shouldIntercept(click(), anchor('/hls/bob/master.m3u8'), origin)).toBe(false);
  });
});

describe('video routes', () => {
  it('takes a media id, case-folded, and nothing else', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(matchRoute(`/videos/${id}`)).toEqual({ name: 'video', id, player: 'hls' });
    expect(matchRoute(`/videos/${id.toUpperCase()}/`)).toEqual({ name: 'video', id, player: 'hls' });
    expect(matchRoute(`/videos/${id}/dash`)).toEqual({ name: 'video', id, player: 'dash' });
    expect(videoPath(id, 'dash')).toBe(`/videos/${id}/dash`);
    expect(matchRoute('/videos/not-an-id')).toEqual({ name: 'not_found' });
    expect(matchRoute(`/videos/${id}/extra`)).toEqual({ name: 'not_found' });
    expect(videoPath(id)).toBe(`/videos/${id}`);
  });
});
