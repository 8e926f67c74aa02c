/** The channel page: its lists (past broadcasts apart from uploads, public only, newest first) and an unknown name. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Media } from '../api/types';
import { allByTestId, apiError, byTestId, FakeEventSource, json, stubApi } from '../test-support';
import { channelPage, channelSections, PAST_BROADCAST_TAG } from './channel';

function item(id: string, createdAt: string, overrides: Partial<Media> = {}): Media {
  return {
    id,
    kind: 'video',
    title: `Video ${id}`,
    description: '',
    tags: [],
    visibility: 'public',
    status: 'uploaded',
    content_type: 'video/mp4',
    size: 1000,
    owner: 'bob',
    created_at: createdAt,
    updated_at: createdAt,
    ...overrides,
  };
}

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;

beforeEach(() => {
  FakeEventSource.reset();
  vi.stubGlobal('EventSource', FakeEventSource);
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
});

afterEach(() => {
  page.abort();
  vi.unstubAllGlobals();
  globalThis.fetch = realFetch;
});

describe('channelSections', () => {
  it('puts past broadcasts apart from uploads, newest first, public and uploaded only', () => {
    const items = [
      item('old-upload', '2026-01-01T00:00:00Z'),
      item('broadcast', '2026-01-03T00:00:00Z', { tags: [PAST_BROADCAST_TAG, 'speedrun'] }),
      item('new-upload', '2026-01-02T00:00:00Z'),
      item('private', '2026-01-04T00:00:00Z', { visibility: 'private' }),
      item('unlisted', '2026-01-04T00:00:00Z', { visibility: 'unlisted', tags: [PAST_BROADCAST_TAG] }),
      item('unfinished', '2026-01-04T00:00:00Z', { status: 'awaiting_upload' }),
    ];
    const { past, uploads } = channelSections(items);
    expect(past.map((i) => i.id)).toEqual(['broadcast']);
    expect(uploads.map((i) => i.id)).toEqual(['new-upload', 'old-upload']);
  });
});

describe('channel page', () => {
  it('lists the owner’s videos from the catalogue’s owner filter, each linking to its page', async () => {
    const api = stubApi((_method, url) => {
      if (url.startsWith('/api/users/profiles/')) return json({ username: 'bob', created_at: '2026-01-01T00:00:00Z' });
      if (url.startsWith('/api/media')) return json({ items: [item('m1', '2026-01-02T00:00:00Z'), item('m2', '2026-01-03T00:00:00Z', { tags: [PAST_BROADCAST_TAG] })], next_cursor: null });
      return apiError(404, 'not_found', 'offline');
    });
    channelPage(root, page.signal, 'bob');
    await vi.waitFor(() => expect(allByTestId(root, 'channel-item')).toHaveLength(2));
    expect(api.calls.some((c) => c.url === '/api/media?owner=bob&limit=48')).toBe(true);
    const past = byTestId(root, 'channel-past');
    expect(past.querySelector('a')?.getAttribute('href')).toBe('/videos/m2');
    expect(byTestId(root, 'channel-uploads').querySelector('a')?.getAttribute('href')).toBe('/videos/m1');
    // The live player part is the watch page's, offline here.
    await vi.waitFor(() => expect(byTestId(root, 'stream-ended').hidden).toBe(false));
  });

  it('says so when there is no such user', async () => {
    stubApi(() => apiError(404, 'not_found', 'not found'));
    channelPage(root, page.signal, 'nobody');
    await vi.waitFor(() => expect(byTestId(root, 'channel-not-found').textContent).toContain('no ferrocast user called “nobody”'));
  });
});
