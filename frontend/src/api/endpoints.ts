/**
 * Typed calls for every endpoint of docs/api.md the browser uses, one function each.
 *
 * Path segments built from user input go through `encodeURIComponent`, so a username can never
 * reach another route of the gateway.
 */
import { request } from './http';
import type {
  CreateMedia,
  CreatedMedia,
  CreatedStreamKey,
  Heartbeat,
  LoginResponse,
  Media,
  MediaPage,
  OwnerSettings,
  RecordingList,
  SettingsChange,
  PartDigest,
  PartUrls,
  PlaybackAccepted,
  PlaybackLeaseRenewed,
  PlaybackRequestBody,
  PlaybackSessions,
  Profile,
  Room,
  RoomPage,
  SignedRequest,
  StreamKeyInfo,
  TagList,
  TitleBody,
  UpdateMedia,
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

  /** A user's public profile; 404 (`ApiError.isNotFound`) when there is no such user. */
  profile: (username: string, signal?: Signal) => request<Profile>('GET', `/api/users/profiles/${seg(username)}`, { signal }),

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

  /** Creates the item (`awaiting_upload`) and says how to send its bytes straight to storage. */
  createMedia: (body: CreateMedia, signal?: Signal) => request<CreatedMedia>('POST', '/api/media', { body, signal }),
  /** Signed PUTs for parts of a multipart upload (at most 100 per call), each bound to its digest. */
  mediaParts: (id: string, parts: PartDigest[], signal?: Signal) =>
    request<PartUrls>('POST', `/api/media/${seg(id)}/parts`, { body: { parts }, signal }),
  /** Checks the stored bytes; 409 `not_uploaded`, 422 `upload_refused` (the item is then gone). */
  finalizeMedia: (id: string, signal?: Signal) => request<Media>('POST', `/api/media/${seg(id)}/finalize`, { signal }),
  getMedia: (id: string, signal?: Signal) => request<Media>('GET', `/api/media/${seg(id)}`, { signal }),
  updateMedia: (id: string, body: UpdateMedia, signal?: Signal) =>
    request<Media>('PATCH', `/api/media/${seg(id)}`, { body, signal }),
  deleteMedia: (id: string, signal?: Signal) => request<void>('DELETE', `/api/media/${seg(id)}`, { signal }),
  /** The owner's short-lived download link of the original file. */
  mediaSettings: (signal?: Signal) => request<OwnerSettings>('GET', '/api/media/settings', { signal }),
  saveMediaSettings: (body: SettingsChange, signal?: Signal) =>
    request<OwnerSettings>('PUT', '/api/media/settings', { body, signal }),
  recordings: (signal?: Signal) => request<RecordingList>('GET', '/api/media/recordings', { signal }),
  mediaOriginal: (id: string, signal?: Signal) => request<SignedRequest>('GET', `/api/media/${seg(id)}/original`, { signal }),
  /**
   * Search (ranked with `q`, newest first without), filtered by all of `tags` and by `owner`;
   * `owner` = the signed-in user lists their own items of every status and visibility.
   */
  searchMedia: (
    params: { q?: string; tags?: readonly string[]; owner?: string; cursor?: string | null; limit?: number },
    signal?: Signal,
  ) => {
    const query = new URLSearchParams();
    if (params.q?.trim()) query.set('q', params.q.trim());
    if (params.tags?.length) query.set('tags', params.tags.join(','));
    if (params.owner) query.set('owner', params.owner);
    if (params.cursor) query.set('cursor', params.cursor);
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    const qs = query.toString();
    return request<MediaPage>('GET', `/api/media${qs ? `?${qs}` : ''}`, { signal });
  },
  /** Tags with their public counts, most used first; `prefix` for autocomplete. */
  tags: (params: { prefix?: string; limit?: number } = {}, signal?: Signal) => {
    const query = new URLSearchParams();
    if (params.prefix) query.set('prefix', params.prefix);
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    const qs = query.toString();
    return request<TagList>('GET', `/api/tags${qs ? `?${qs}` : ''}`, { signal });
  },

  /** Asks for a playback session (202): the decision is pushed on `GET /api/playback/events`. */
  requestPlayback: (body: PlaybackRequestBody, signal?: Signal) =>
    request<PlaybackAccepted>('POST', '/api/playback', { body, signal }),
  /** The account's sessions (with their tokens) and waiting requests. */
  playbackList: (signal?: Signal) => request<PlaybackSessions>('GET', '/api/playback', { signal }),
  /** Keeps a session's lease; 410 `session_ended` once it is over. */
  playbackHeartbeat: (id: string, signal?: Signal) =>
    request<PlaybackLeaseRenewed>('POST', `/api/playback/${seg(id)}/heartbeat`, { signal }),
  /** Ends one of the account's sessions, or withdraws a waiting request (404: none such). */
  endPlayback: (id: string, signal?: Signal) => request<void>('DELETE', `/api/playback/${seg(id)}`, { signal }),
  stopPlayback: (id: string, signal?: Signal) => request<void>('POST', playbackStopPath(id), { signal }),
};

/** Where `navigator.sendBeacon` ends a session or withdraws a request when the page closes. */
export function playbackStopPath(id: string): string {
  return `/api/playback/${seg(id)}/stop`;
}
