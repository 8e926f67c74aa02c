/**
 * The single place that calls `fetch` for the JSON API.
 *
 * Same-origin cookies only: the session is the HttpOnly `ferrocast_session` cookie set by login,
 * so nothing here stores or sends a token. Every failure leaves as an `ApiError` (see error.ts);
 * an aborted request keeps its `AbortError` so a page being left is not reported as a failure.
 */
import { ApiError, isAbortError, parseErrorResponse, parseRetryAfter } from './error';

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal | undefined;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(0, 'network', 'Cannot reach ferrocast. Check your connection and try again.');
  }

  const text = await response.text();
  if (!response.ok) {
    const error = parseErrorResponse(response.status, text);
    error.retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'));
    throw error;
  }
  if (response.status === 204 || text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(response.status, 'internal', 'The server sent an answer ferrocast could not read.');
  }
}
