/** The library page: results as you type, tag chips that filter, the search kept in the URL. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Media } from '../../api/types';
import { allByTestId, byTestId, json, SseStream, stubApi } from '../../test-support';
import { libraryPage } from '.';

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;

function item(id: string, title: string, tags: string[] = []): Media {
  return {
    id,
    kind: 'video',
    title,
    description: '',
    tags,
    visibility: 'public',
    status: 'uploaded',
    content_type: 'video/mp4',
    size: 1,
    owner: 'alice',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    processing: { status: 'DONE', percent: 100, attempts: 1, renditions: ['360p'], queued_at: '2026-01-01T00:00:00Z' },
  };
}

beforeEach(() => {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  history.replaceState(null, '', '/library');
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
});

describe('library page', () => {
  it('searches as you type, once typing pauses, and shows the results', async () => {
    const api = stubApi((_method, url) => {
      if (url.startsWith('/api/tags')) return json({ tags: [{ tag: 'boats', count: 2 }] });
      const q = new URL(url, 'http://x').searchParams.get('q');
      return json({ items: q ? [item('m1', `About ${q}`)] : [item('m0', 'Newest')], next_cursor: null });
    });
    libraryPage(root, page.signal, { q: '', tags: [] });
    await vi.waitFor(() => expect(allByTestId(root, 'library-title').map((e) => e.textContent)).toEqual(['Newest']));
    const box = byTestId<HTMLInputElement>(root, 'library-search');
    for (const text of ['h', 'ha', 'harbour']) {
      box.value = text;
      box.dispatchEvent(new Event('input'));
    }
    await vi.waitFor(() => expect(allByTestId(root, 'library-title').map((e) => e.textContent)).toEqual(['About harbour']));
    const searches = api.calls.filter((c) => c.url.startsWith('/api/media'));
    expect(searches.map((c) => c.url)).toEqual(['/api/media?limit=24', '/api/media?q=harbour&limit=24']);
    expect(location.search).toBe('?q=harbour');
    expect(byTestId(root, 'library-summary').textContent).toBe('1 result for “harbour”');
  });

  it('filters by a tag chosen among the top tags, and shows it pressed', async () => {
    const api = stubApi((_method, url) => {
      if (url.startsWith('/api/tags')) return json({ tags: [{ tag: 'boats', count: 2 }, { tag: 'sea', count: 1 }] });
      return json({ items: [item('m1', 'Harbour', ['boats'])], next_cursor: null });
    });
    libraryPage(root, page.signal, { q: '', tags: [] });
    await vi.waitFor(() => expect(byTestId(root, 'top-tags').hidden).toBe(false));
    byTestId(root, 'top-tags').querySelector<HTMLButtonElement>('[data-tag="boats"]')!.click();
    await vi.waitFor(() => expect(api.calls.some((c) => c.url === '/api/media?tags=boats&limit=24')).toBe(true));
    expect(location.search).toBe('?tags=boats');
    await vi.waitFor(() =>
      expect(byTestId(root, 'top-tags').querySelector('[data-tag="boats"]')!.getAttribute('aria-pressed')).toBe('true'),
    );
  });

  it('asks again when the catalogue says it is busy', async () => {
    let searches = 0;
    stubApi((_method, url) => {
      if (url.startsWith('/api/tags')) return json({ tags: [] });
      searches += 1;
      if (searches === 1) {
        return new Response('{"error":{"code":"busy","message":"too many searches"}}', { status: 503, headers: { 'Retry-After': '0' } });
      }
      return json({ items: [item('m1', 'Harbour')], next_cursor: null });
    });
    libraryPage(root, page.signal, { q: '', tags: [] });
    await vi.waitFor(() => expect(allByTestId(root, 'library-title').map((e) => e.textContent)).toEqual(['Harbour']));
    expect(searches).toBe(2);
    expect(root.querySelector<HTMLElement>('[role="alert"]')!.hidden).toBe(true);
  });

  it('starts from the search in the URL', async () => {
    const api = stubApi((_method, url) =>
      url.startsWith('/api/tags') ? json({ tags: [] }) : json({ items: [], next_cursor: null }),
    );
    libraryPage(root, page.signal, { q: 'gulls', tags: ['sea'] });
    expect(byTestId<HTMLInputElement>(root, 'library-search').value).toBe('gulls');
    await vi.waitFor(() => expect(byTestId(root, 'library-summary').textContent).toBe('0 results for “gulls” tagged sea'));
    expect(api.calls.find((c) => c.url.startsWith('/api/media'))?.url).toBe('/api/media?q=gulls&tags=sea&limit=24');
  });

  it('shows how far a video still processing is, changed live until it is done', async () => {
    const processing = (status: string, percent: number) => ({
      status,
      percent,
      attempts: 1,
      renditions: [],
      queued_at: '2026-01-01T00:00:00Z',
    });
    const running = { ...item('m1', 'Fresh'), processing: processing('PENDING', 0) } as Media;
    const ready = { ...item('m2', 'Ready'), processing: processing('DONE', 100) } as Media;
    const stream = new SseStream();
    const api = stubApi((_method, url) => {
      if (url.startsWith('/api/tags')) return json({ tags: [] });
      if (url.startsWith('/api/media/progress')) return stream.response();
      return json({ items: [running, ready], next_cursor: null });
    });
    libraryPage(root, page.signal, { q: '', tags: [] });
    await vi.waitFor(() => expect(api.calls.some((c) => c.url === '/api/media/progress?ids=m1')).toBe(true));
    const line = byTestId(root.querySelector('[data-id="m1"]')!, 'library-processing');
    expect(line.textContent).toBe('Waiting to be processed');
    expect(byTestId(root.querySelector('[data-id="m2"]')!, 'library-processing').hidden).toBe(true);

    stream.progress('m1', processing('IN PROGRESS', 60));
    await vi.waitFor(() => expect(line.textContent).toBe('Processing 60 %'));
    stream.progress('m1', processing('DONE', 100));
    await vi.waitFor(() => expect(line.hidden).toBe(true));
    await vi.waitFor(() => expect(stream.cancelled).toBe(true));
    expect(api.calls.filter((c) => c.url.startsWith('/api/media/m'))).toEqual([]);
  });
});
