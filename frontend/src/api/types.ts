/**
 * Wire types of the ferrocast HTTP API, under the names the pages use.
 *
 * Each is an alias onto the types `npm run generate` writes to `generated/` from the services'
 * committed OpenAPI documents (`openapi/users.json`, `openapi/rooms.json`,
 * `openapi/catalog.json`); a Rust test in each service fails when its document differs from the
 * handlers, so these cannot drift from what the server sends. Times stay RFC 3339 strings here; pages turn them into dates only where they
 * display them, so a round trip never changes what the server sent.
 */
import type { components as CatalogApi } from './generated/catalog';
import type { components as RoomsApi } from './generated/rooms';
import type { components as UsersApi } from './generated/users';

type Users = UsersApi['schemas'];
type Rooms = RoomsApi['schemas'];
type Catalog = CatalogApi['schemas'];

export type User = Users['UserBody'];

/** `GET /api/users/profiles/{username}`: what anyone may know of a user (their channel). */
export type Profile = Users['ProfileBody'];

export type LoginResponse = Users['LoginResponse'];

/** `GET /api/users/me/stream-key`: the key itself is never returned again after creation. */
export type StreamKeyInfo = Users['StreamKeyResponse'];

/** `POST /api/users/me/stream-key`: the only answer that carries the full key. */
export type CreatedStreamKey = Users['NewStreamKeyResponse'];

export type Rendition = Rooms['Rendition'];

export type Room = Rooms['RoomView'];

/**
 * `POST /api/rooms/{username}/viewers`: the room's viewer count and the server-issued viewer
 * token to send with the next heartbeat (it may be renewed or replaced on any answer).
 */
export type Heartbeat = Rooms['Viewers'];

export type RoomPage = Rooms['RoomList'];

/** `GET` and `PUT /api/rooms/me/title`: the owner's stored title (`""` when none is set yet). */
export type TitleBody = Rooms['TitleBody'];

export type MediaKind = Catalog['MediaKind'];
export type MediaStatus = Catalog['MediaStatus'];
export type Visibility = Catalog['Visibility'];
/** A media item as whoever may see it sees it. */
export type Media = Catalog['MediaView'];
export type Processing = Catalog['ProcessingView'];
/** One event of `GET /api/media/progress`: an item's id and its processing now. */
export type ProgressEvent = Catalog['ProgressEvent'];
export type Encryption = Catalog['EncryptionView'];
export type OwnerSettings = Catalog['OwnerSettings'];
/** `PUT /api/media/settings`: the settings to change; what is left out stays. */
export type SettingsChange = Catalog['SettingsChange'];
/** `GET /api/media/recordings`: the owner's newest recorded broadcasts. */
export type RecordingList = Catalog['RecordingList'];
export type MediaPage = Catalog['MediaPage'];
export type CreateMedia = Catalog['CreateMedia'];
/** `POST /api/media`: the item, and how to send its bytes (one signed PUT, or parts). */
export type CreatedMedia = Catalog['CreatedMedia'];
export type UploadPlan = Catalog['UploadView'];
export type UpdateMedia = Catalog['UpdateMedia'];
/** A request to send straight to storage: exactly this method, URL and headers (they are signed). */
export type SignedRequest = Catalog['SignedRequest'];
export type PartDigest = Catalog['PartDigest'];
export type PartUrls = Catalog['PartUrls'];
export type TagCount = Catalog['TagView'];
export type TagList = Catalog['TagList'];

/*
 * Playback sessions (docs/api.md, "playback sessions"). Times are milliseconds since the Unix
 * epoch, as the server sends them.
 */

/** One live session of the account; `token` only in the account's own list and in a grant. */
export type PlaybackSession = Catalog['ActiveSession'] & { token?: string };
/** A request waiting for a free slot; `position` 1 is granted next. */
export type QueuedPlayback = Catalog['QueuedRequest'];
/** `GET /api/playback`: the account's sessions, each with its token, and waiting requests. */
export type PlaybackSessions = Catalog['SessionList'];
/** A list as the page reads it (`GET /api/playback`, or a `snapshot` event; tokens optional). */
export interface PlaybackList {
  sessions: PlaybackSession[];
  queued: QueuedPlayback[];
}
/** `POST /api/playback`. */
export type PlaybackRequestBody = Catalog['PlaybackAsk'];
/** `POST /api/playback` (202): the decision comes as an event. */
export type PlaybackAccepted = Catalog['PlaybackAsked'];
/** `POST /api/playback/{id}/heartbeat`. */
export type PlaybackLeaseRenewed = Catalog['Heartbeat'];
/** Why a session ended (the `ended` event; an SSE payload, so not in the OpenAPI document). */
export type PlaybackEndReason = 'stopped' | 'ended_elsewhere' | 'lapsed';
