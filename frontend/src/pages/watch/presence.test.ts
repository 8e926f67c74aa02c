/** The heartbeat sends the token it was issued, keeps it for the tab, and reads 404 as "gone". */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiError, json, stubApi } from '../../test-support';
import { ViewerPresence } from './presence';

const realFetch = globalThis.fetch;

beforeEach(() => sessionStorage.clear());
afterEach(() => {
  globalThis.fetch = realFetch;
});

describe('ViewerPresence', () => {
  it('asks for a token first, then sends the one it was issued and stores it for the tab', async () => {
    const api = stubApi((_m, _u, body) => json({ viewers: 7, viewer_token: (body as { viewer_token?: string }).viewer_token ?? 'tok-1' }));
    const presence = new ViewerPresence('alice', new AbortController().signal);
    expect(await presence.beat()).toEqual({ viewers: 7 });
    expect(await presence.beat()).toEqual({ viewers: 7 });
    expect(api.calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['POST', '/api/rooms/alice/viewers', {}],
      ['POST', '/api/rooms/alice/viewers', { viewer_token: 'tok-1' }],
    ]);
    expect(sessionStorage.getItem('ferrocast.viewer_token.alice')).toBe('tok-1');

    // A new page in the same tab starts with the stored token.
    await new ViewerPresence('alice', new AbortController().signal).beat();
    expect(api.calls.at(-1)?.body).toEqual({ viewer_token: 'tok-1' });
  });

  it('reports a room that is gone, and nothing for other failures or a left page', async () => {
    stubApi(() => apiError(404, 'not_found', 'offline'));
    expect(await new ViewerPresence('alice', new AbortController().signal).beat()).toBe('gone');
    stubApi(() => apiError(503, 'unavailable', 'down'));
    expect(await new ViewerPresence('alice', new AbortController().signal).beat()).toBeNull();
    const left = new AbortController();
    left.abort();
    expect(await new ViewerPresence('alice', left.signal).beat()).toBeNull();
  });
});
