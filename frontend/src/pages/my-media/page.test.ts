/** My media: the owner's items with their status, edit through PATCH, delete behind the dialog. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Media } from '../../api/types';
import { setUser } from '../../session';
import { allByTestId, byTestId, json, SseStream, stubApi } from '../../test-support';
import { myMediaPage } from '.';

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;
const user = { id: 'u1', username: 'alice', email: 'a@example.com', created_at: '2026-01-01T00:00:00Z' };

const clip: Media = {
  id: 'm1',
  kind: 'video',
  title: 'Harbour',
  description: '',
  tags: ['boats'],
  visibility: 'public',
  status: 'uploaded',
  content_type: 'video/mp4',
  size: 3 * 1024 * 1024,
  owner: 'alice',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  processing: { status: 'DONE', percent: 100, attempts: 1, renditions: ['360p'], queued_at: '2026-01-01T00:00:00Z' },
};
const draft: Media = { ...clip, id: 'm2', title: 'Half done', status: 'awaiting_upload', visibility: 'private', tags: [] };

beforeEach(() => {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  history.replaceState(null, '', '/media');
  setUser(user);
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
  vi.unstubAllGlobals();
  document.querySelector('dialog')?.remove();
});

describe('my media page', () => {
  it('lists the owner’s items of every status with size, visibility and tags', async () => {
    const api = stubApi(() => json({ items: [clip, draft], next_cursor: null }));
    myMediaPage(root, page.signal);
    await vi.waitFor(() => expect(allByTestId(root, 'media-item')).toHaveLength(2));
    expect(api.calls[0]!.url).toBe('/api/media?owner=alice&limit=24');
    expect(allByTestId(root, 'media-status').map((e) => e.textContent)).toEqual(['Uploaded', 'Waiting for upload']);
    expect(allByTestId(root, 'media-visibility').map((e) => e.textContent)).toEqual(['Public', 'Private']);
    expect(allByTestId(root, 'media-size')[0]!.textContent).toBe('3.00 MB');
    expect(byTestId(root, 'item-tags').textContent).toBe('boats');
  });

  it('offers the original for download once uploaded, through a link asked for on the click', async () => {
    const assign = vi.fn();
    vi.stubGlobal('location', { ...window.location, assign, pathname: '/media' });
    const api = stubApi((_method, url) =>
      url === '/api/media/m1/original'
        ? json({ method: 'GET', url: 'https://s3.example/m1?sig=x', headers: {}, expires_at: '2026-01-01T00:05:00Z' })
        : json({ items: [clip, draft], next_cursor: null }),
    );
    myMediaPage(root, page.signal);
    await vi.waitFor(() => expect(allByTestId(root, 'media-item')).toHaveLength(2));
    expect(allByTestId(root, 'media-download')).toHaveLength(1);
    byTestId<HTMLButtonElement>(root, 'media-download').click();
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith('https://s3.example/m1?sig=x'));
    expect(api.calls.at(-1)!.url).toBe('/api/media/m1/original');
  });

  it('saves an edit with only the changed fields', async () => {
    const api = stubApi((method, _url, body) =>
      method === 'PATCH' ? json({ ...clip, ...(body as object) }) : json({ items: [clip], next_cursor: null }),
    );
    myMediaPage(root, page.signal);
    await vi.waitFor(() => expect(allByTestId(root, 'media-item')).toHaveLength(1));
    byTestId<HTMLButtonElement>(root, 'media-edit').click();
    const form = byTestId<HTMLFormElement>(root, 'edit-form');
    form.querySelector<HTMLInputElement>('[name="title"]')!.value = 'Harbour at dusk';
    form.dispatchEvent(new Event('submit', { cancelable: true }));
    await vi.waitFor(() => expect(byTestId(root, 'media-title').textContent).toBe('Harbour at dusk'));
    expect(api.calls.at(-1)).toEqual({ method: 'PATCH', url: '/api/media/m1', body: { title: 'Harbour at dusk' } });
    expect(root.querySelector('[data-testid="edit-form"]')).toBeNull();
  });

  it('deletes an item once the dialog is confirmed', async () => {
    const api = stubApi((method) =>
      method === 'DELETE' ? new Response(null, { status: 204 }) : json({ items: [clip], next_cursor: null }),
    );
    myMediaPage(root, page.signal);
    await vi.waitFor(() => expect(allByTestId(root, 'media-item')).toHaveLength(1));
    byTestId<HTMLButtonElement>(root, 'media-delete').click();
    await vi.waitFor(() => expect(document.querySelector('[data-testid="confirm-ok"]')).not.toBeNull());
    byTestId<HTMLButtonElement>(document, 'confirm-ok').click();
    await vi.waitFor(() => expect(byTestId(root, 'media-empty').hidden).toBe(false));
    expect(api.calls.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/media/m1' });
  });

  it('follows the videos still processing and changes their line and Watch link in place', async () => {
    const processing = (status: string, percent: number, hls_url?: string) => ({
      status,
      percent,
      attempts: 1,
      renditions: hls_url ? ['360p'] : [],
      queued_at: '2026-01-01T00:00:00Z',
      ...(hls_url ? { hls_url } : {}),
    });
    const running = { ...clip, id: 'm3', title: 'Running', processing: processing('IN PROGRESS', 10) } as Media;
    const done = { ...clip, id: 'm4', title: 'Old', processing: processing('DONE', 100, '/api/media/m4/vod/j/master.m3u8') } as Media;
    const image = { ...clip, id: 'm5', kind: 'image', content_type: 'image/png' } as Media;
    const stream = new SseStream();
    const api = stubApi((_method, url) =>
      url.startsWith('/api/media/progress') ? stream.response() : json({ items: [running, done, image], next_cursor: null }),
    );
    myMediaPage(root, page.signal);
    await vi.waitFor(() => expect(api.calls.some((c) => c.url.startsWith('/api/media/progress'))).toBe(true));
    expect(api.calls.at(-1)!.url).toBe('/api/media/progress?ids=m3');
    const row = root.querySelector<HTMLElement>('[data-id="m3"]')!;
    expect(byTestId(row, 'media-processing').textContent).toBe('Processing 10 %');
    expect(byTestId(row, 'media-watch').hidden).toBe(true);

    stream.progress('m3', processing('IN PROGRESS', 40, '/api/media/m3/vod/j/master.m3u8'));
    await vi.waitFor(() => expect(byTestId(row, 'media-processing').textContent).toBe('Playable, processing 40 %'));
    expect(byTestId(row, 'media-watch').hidden).toBe(false);
    expect(root.querySelector('[data-id="m3"]')).toBe(row);

    stream.progress('m3', processing('DONE', 100, '/api/media/m3/vod/j/master.m3u8'));
    await vi.waitFor(() => expect(byTestId(row, 'media-processing').textContent).toBe('Ready to watch'));
    expect(byTestId(root, 'media-summary').textContent).toBe('“Running” is ready to watch.');
    await vi.waitFor(() => expect(stream.cancelled).toBe(true));
    expect(api.calls.filter((c) => c.url.startsWith('/api/media/m'))).toEqual([]);
    expect(api.calls).toHaveLength(2);
  });
});
