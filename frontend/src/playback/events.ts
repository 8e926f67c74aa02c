/**
 * The events of `GET /api/playback/events` (docs/api.md, "playback sessions") read into typed
 * values, and what each ending means to the viewer.
 *
 * Pure and defensive: the data of an event is checked field by field, so a malformed event (or
 * one from a newer server with fields this page does not know) is dropped or read as far as it
 * goes instead of breaking the page.
 */
import type { PlaybackEndReason, PlaybackList, PlaybackSession, QueuedPlayback } from '../api/types';
import { jsonObject, type SseMessage } from '../sse';

export type PlaybackEvent =
  /** First on every (re)connect: the account's sessions (with tokens) and waiting requests. */
  | ({ type: 'snapshot' } & PlaybackList)
  | { type: 'granted'; request_id: string; media_id: string; expires_at_ms: number; lease_ms?: number; token: string }
  /** The limit is reached and the request did not ask to wait. */
  | { type: 'denied'; request_id: string; reason: string; active: PlaybackSession[] }
  /** Waiting; sent again when the place in line moves (1 = next). */
  | { type: 'queued'; request_id: string; position: number }
  | { type: 'ended'; session_id: string; reason: PlaybackEndReason | (string & {}) };

type Fields = Record<string, unknown>;

function object(value: unknown): Fields | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : null;
}

function text(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function count(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** A session as the server describes it, or null when a field is missing. */
export function parseSession(value: unknown): PlaybackSession | null {
  const s = object(value);
  if (!s || !text(s.session_id) || !text(s.media_id) || !count(s.started_at_ms) || !count(s.expires_at_ms)) return null;
  const session: PlaybackSession = {
    session_id: s.session_id,
    media_id: s.media_id,
    device: typeof s.device === 'string' ? s.device : '',
    title: typeof s.title === 'string' ? s.title : '',
    started_at_ms: s.started_at_ms,
    expires_at_ms: s.expires_at_ms,
  };
  if (text(s.token)) session.token = s.token;
  return session;
}

export function parseQueued(value: unknown): QueuedPlayback | null {
  const q = object(value);
  if (!q || !text(q.request_id) || !text(q.media_id) || !count(q.position)) return null;
  return {
    request_id: q.request_id,
    media_id: q.media_id,
    device: typeof q.device === 'string' ? q.device : '',
    title: typeof q.title === 'string' ? q.title : '',
    position: q.position,
  };
}

/** The account's list (`GET /api/playback` or a snapshot), keeping the entries that read. */
export function parseList(value: unknown): PlaybackList | null {
  const l = object(value);
  if (!l || !Array.isArray(l.sessions) || !Array.isArray(l.queued)) return null;
  return {
    sessions: l.sessions.map(parseSession).filter((s): s is PlaybackSession => s !== null),
    queued: l.queued.map(parseQueued).filter((q): q is QueuedPlayback => q !== null),
  };
}

/** The event a message carries, or null (unknown event, bad data). */
export function parsePlaybackEvent(message: SseMessage): PlaybackEvent | null {
  const d = object(jsonObject(message.data));
  if (!d) return null;
  switch (message.event) {
    case 'snapshot': {
      const list = parseList(d);
      return list && { type: 'snapshot', ...list };
    }
    case 'granted':
      if (!text(d.request_id) || !text(d.media_id) || !count(d.expires_at_ms) || !text(d.token)) return null;
      return {
        type: 'granted',
        request_id: d.request_id,
        media_id: d.media_id,
        expires_at_ms: d.expires_at_ms,
        ...(count(d.lease_ms) ? { lease_ms: d.lease_ms } : {}),
        token: d.token,
      };
    case 'denied':
      if (!text(d.request_id)) return null;
      return {
        type: 'denied',
        request_id: d.request_id,
        reason: typeof d.reason === 'string' ? d.reason : '',
        active: Array.isArray(d.active) ? d.active.map(parseSession).filter((s): s is PlaybackSession => s !== null) : [],
      };
    case 'queued':
      if (!text(d.request_id) || !count(d.position)) return null;
      return { type: 'queued', request_id: d.request_id, position: d.position };
    case 'ended':
      if (!text(d.session_id)) return null;
      return { type: 'ended', session_id: d.session_id, reason: typeof d.reason === 'string' ? d.reason : '' };
    default:
      return null;
  }
}

/**
 * Why a session of this page ended, for "Playback ended: …"; `null` when only a heartbeat's 410
 * said so (ended elsewhere or lapsed, the answer does not say which).
 */
export function endedMessage(reason: string | null): string {
  switch (reason) {
    case 'ended_elsewhere':
      return 'Playback ended: it was ended from another device of this account.';
    case 'lapsed':
      return 'Playback ended: this device lost touch with ferrocast for too long.';
    case 'stopped':
      return 'Playback ended: it was stopped.';
    default:
      return 'Playback ended: the session is over (ended from another device, or lost touch).';
  }
}
