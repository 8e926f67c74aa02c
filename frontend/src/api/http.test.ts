/** The fetch wrapper and endpoint paths: credentials, JSON bodies, 204, errors, network failure, aborts. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from './endpoints';
import { ApiError } from './error';
import { request } from './http';

function stubFetch(response: Response | Error) {
  const fetchMock = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => {
    if (response instanceof Error) throw response;
    return response;
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('request', () => {
  it('sends JSON with same-origin credentials and parses the answer', async () => {
    const fetchMock = stubFetch(new Response('{"title":"hi"}', { status: 200 }));
    const answer = await request<{ title: string }>('PUT', '/api/rooms/me/title', { body: { title: 'hi' } });
    expect(answer).toEqual({ title: 'hi' });
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/rooms/me/title');
    expect(init?.method).toBe('PUT');
    expect(init?.credentials).toBe('same-origin');
    expect(init?.body).toBe('{"title":"hi"}');
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('sends no body or content type without a body', async () => {
    const fetchMock = stubFetch(new Response('{}', { status: 200 }));
    await request('GET', '/api/users/me');
    const init = fetchMock.mock.calls[0]![1]!;
    expect(init.body).toBeUndefined();
    expect((init.headers as Record<string, string>)['Content-Type']).toBeUndefined();
  });

  it('returns undefined for 204', async () => {
    stubFetch(new Response(null, { status: 204 }));
    await expect(request('POST', '/api/users/logout')).resolves.toBeUndefined();
  });

  it('throws an ApiError carrying the field errors of a 422', async () => {
    stubFetch(
      new Response('{"error":{"code":"validation","message":"bad","fields":{"username":"must be 3-24 characters"}}}', {
        status: 422,
      }),
    );
    const error = await request('POST', '/api/users', { body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).fields).toEqual({ username: 'must be 3-24 characters' });
  });

  it('keeps the Retry-After of a 503', async () => {
    stubFetch(new Response('{"error":{"code":"busy","message":"too many searches"}}', { status: 503, headers: { 'Retry-After': '2' } }));
    const error = (await request('GET', '/api/media?q=x').catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('busy');
    expect(error.retryAfterMs).toBe(2000);
  });

  it('turns a failed connection into a network ApiError with status 0', async () => {
    stubFetch(new TypeError('Failed to fetch'));
    const error = (await request('GET', '/api/rooms').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(0);
    expect(error.code).toBe('network');
  });

  it('lets an abort through unchanged so leaving a page is not an error', async () => {
    stubFetch(new DOMException('The operation was aborted.', 'AbortError'));
    const error = await request('GET', '/api/rooms').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
  });

  it('reports an unreadable success body as an ApiError', async () => {
    stubFetch(new Response('<html>', { status: 200 }));
    await expect(request('GET', '/api/rooms')).rejects.toBeInstanceOf(ApiError);
  });
});

describe('api endpoints', () => {
  it('encodes path segments and builds the rooms query', async () => {
    const fetchMock = stubFetch(new Response('{"rooms":[],"next_cursor":null}', { status: 200 }));
    await api.listRooms({ limit: 24, cursor: 'abc=' });
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/rooms?limit=24&cursor=abc%3D');

    fetchMock.mockResolvedValueOnce(new Response('{"viewers":3,"viewer_token":"t1"}', { status: 200 }));
    await expect(api.heartbeat('a/../b', null)).resolves.toEqual({ viewers: 3, viewer_token: 't1' });
    expect(fetchMock.mock.calls[1]![0]).toBe('/api/rooms/a%2F..%2Fb/viewers');
    expect(fetchMock.mock.calls[1]![1]!.body).toBe('{}');

    fetchMock.mockResolvedValueOnce(new Response('{"viewers":3,"viewer_token":"t2"}', { status: 200 }));
    await api.heartbeat('a', 't1');
    expect(fetchMock.mock.calls[2]![1]!.body).toBe('{"viewer_token":"t1"}');
  });

  it('reads and sets the own title at /api/rooms/me/title', async () => {
    const fetchMock = stubFetch(new Response('{"title":""}', { status: 200 }));
    await expect(api.getTitle()).resolves.toEqual({ title: '' });
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/rooms/me/title');
    expect(fetchMock.mock.calls[0]![1]!.method).toBe('GET');
    expect(fetchMock.mock.calls[0]![1]!.body).toBeUndefined();

    fetchMock.mockResolvedValueOnce(new Response('{"title":"Speedrun"}', { status: 200 }));
    await expect(api.setTitle('Speedrun')).resolves.toEqual({ title: 'Speedrun' });
    expect(fetchMock.mock.calls[1]![0]).toBe('/api/rooms/me/title');
    expect(fetchMock.mock.calls[1]![1]!.method).toBe('PUT');
    expect(fetchMock.mock.calls[1]![1]!.body).toBe('{"title":"Speedrun"}');
  });

  it('lists rooms without a query string when no paging is asked', async () => {
    const fetchMock = stubFetch(new Response('{"rooms":[],"next_cursor":null}', { status: 200 }));
    await api.listRooms();
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/rooms');
  });
});
