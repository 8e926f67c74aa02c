/**
 * Typed calls for every endpoint of docs/api.md the browser uses, one function each.
 *
 * Path segments built from user input go through `encodeURIComponent`, so a username can never
 * reach another route of the gateway.
 */
import { request } from './http';
import type {
  CreatedStreamKey,
  Heartbeat,
  LoginResponse,
  Room,
  RoomPage,
  StreamKeyInfo,
  TitleBody,
  User,
} from './types';

type Signal = AbortSignal | undefined;

const seg = encodeURIComponent;

export const api = {
  signup: (body: { username: string; email: string; password: string }, signal?: Signal) =>
    request<User>('POST', '/api/users', { body, signal }),

  login: (body: { login: string; password: string }, signal?: Signal) =>
    request<LoginResponse>('POST', '/api/users/login', { body, signal }),

  logout: (signal?: Signal) => request<void>('POST', '/api/users/logout', { signal }),

  me: (signal?: Signal) => request<User>('GET', '/api/users/me', { signal }),

  getStreamKey: (signal?: Signal) => request<StreamKeyInfo>('GET', '/api/users/me/stream-key', { signal }),

  /** Creates the first key or rotates the existing one (the old key stops working at once). */
  createStreamKey: (signal?: Signal) =>
    request<CreatedStreamKey>('POST', '/api/users/me/stream-key', { signal }),

  listRooms: (params: { limit?: number; cursor?: string | null } = {}, signal?: Signal) => {
    const query = new URLSearchParams();
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    if (params.cursor) query.set('cursor', params.cursor);
    const qs = query.toString();
    return request<RoomPage>('GET', `/api/rooms${qs ? `?${qs}` : ''}`, { signal });
  },

  /** 404 (`ApiError.isNotFound`) means the user is offline. */
  getRoom: (username: string, signal?: Signal) => request<Room>('GET', `/api/rooms/${seg(username)}`, { signal }),

  /** The signed-in user's stored title, also while offline; `""` before one is set. */
  getTitle: (signal?: Signal) => request<TitleBody>('GET', '/api/rooms/me/title', { signal }),

  setTitle: (title: string, signal?: Signal) =>
    request<TitleBody>('PUT', '/api/rooms/me/title', { body: { title }, signal }),

  /** `viewerToken`: the one the previous answer issued (none the first time). */
  heartbeat: (username: string, viewerToken: string | null, signal?: Signal) =>
    request<Heartbeat>('POST', `/api/rooms/${seg(username)}/viewers`, {
      body: viewerToken ? { viewer_token: viewerToken } : {},
      signal,
    }),
};
