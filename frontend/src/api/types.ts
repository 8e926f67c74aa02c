/**
 * Wire types of the ferrocast HTTP API, exactly as docs/api.md defines them.
 *
 * Times stay RFC 3339 strings here; pages turn them into dates only where they display them, so
 * a round trip never changes what the server sent.
 */

export interface User {
  id: string;
  username: string;
  email: string;
  created_at: string;
}

export interface LoginResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  user: User;
}

/** `GET /api/users/me/stream-key`: the key itself is never returned again after creation. */
export interface StreamKeyInfo {
  prefix: string;
  created_at: string;
}

/** `POST /api/users/me/stream-key`: the only answer that carries the full key. */
export interface CreatedStreamKey extends StreamKeyInfo {
  stream_key: string;
}

export interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
}

export interface Room {
  username: string;
  title: string;
  started_at: string;
  viewers: number;
  renditions: Rendition[];
  thumbnail_url: string | null;
  hls_url: string;
}

/**
 * `POST /api/rooms/{username}/viewers`: the room's viewer count and the server-issued viewer
 * token to send with the next heartbeat (it may be renewed or replaced on any answer).
 */
export interface Heartbeat {
  viewers: number;
  viewer_token: string;
}

export interface RoomPage {
  rooms: Room[];
  next_cursor: string | null;
}

/** `GET` and `PUT /api/rooms/me/title`: the owner's stored title (`""` when none is set yet). */
export interface TitleBody {
  title: string;
}
