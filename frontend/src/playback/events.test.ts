/** The playback event stream read into typed events; malformed data is dropped, not thrown. */
import { describe, expect, it } from 'vitest';
import { endedMessage, parseList, parsePlaybackEvent } from './events';

const session = {
  session_id: 's1',
  media_id: 'm1',
  device: 'Chrome on Linux',
  title: 'Harbour',
  started_at_ms: 1000,
  expires_at_ms: 31000,
};

function message(event: string, data: unknown) {
  return { event, data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: '' };
}

describe('parsePlaybackEvent', () => {
  it('reads each event of the contract', () => {
    expect(parsePlaybackEvent(message('snapshot', { sessions: [{ ...session, token: 't' }], queued: [] }))).toEqual({
      type: 'snapshot',
      sessions: [{ ...session, token: 't' }],
      queued: [],
    });
    expect(parsePlaybackEvent(message('granted', { request_id: 'r', media_id: 'm1', expires_at_ms: 5, token: 't' }))).toEqual({
      type: 'granted',
      request_id: 'r',
      media_id: 'm1',
      expires_at_ms: 5,
      token: 't',
    });
    expect(
      parsePlaybackEvent(message('granted', { request_id: 'r', media_id: 'm1', expires_at_ms: 5, lease_ms: 30_000, token: 't' })),
    ).toMatchObject({ type: 'granted', lease_ms: 30_000 });
    expect(parsePlaybackEvent(message('denied', { request_id: 'r', reason: 'limit_reached', active: [session] }))).toEqual({
      type: 'denied',
      request_id: 'r',
      reason: 'limit_reached',
      active: [session],
    });
    expect(parsePlaybackEvent(message('queued', { request_id: 'r', position: 2 }))).toEqual({ type: 'queued', request_id: 'r', position: 2 });
    expect(parsePlaybackEvent(message('ended', { session_id: 's1', reason: 'lapsed' }))).toEqual({
      type: 'ended',
      session_id: 's1',
      reason: 'lapsed',
    });
  });

  it('drops unknown events and data that is not the event’s', () => {
    for (const [event, data] of [
      ['message', { request_id: 'r' }],
      ['granted', 'not json'],
      ['granted', { request_id: 'r', media_id: 'm', expires_at_ms: 5 }],
      ['granted', []],
      ['queued', { request_id: 'r', position: '1' }],
      ['ended', { reason: 'lapsed' }],
      ['snapshot', { sessions: {} , queued: [] }],
    ] as const) {
      expect(parsePlaybackEvent(message(event, data)), `${event} ${JSON.stringify(data)}`).toBeNull();
    }
  });

  it('keeps the entries of a list that read and skips the rest', () => {
    expect(parseList({ sessions: [session, { session_id: 's2' }], queued: [{ request_id: 'q', media_id: 'm', position: 1 }, 7] })).toEqual({
      sessions: [session],
      queued: [{ request_id: 'q', media_id: 'm', device: '', title: '', position: 1 }],
    });
  });
});

describe('endedMessage', () => {
  it('says why, and something true when only a 410 said it', () => {
    expect(endedMessage('ended_elsewhere')).toMatch(/^Playback ended: .*another device/);
    expect(endedMessage('lapsed')).toMatch(/^Playback ended: .*lost touch/);
    expect(endedMessage(null)).toMatch(/^Playback ended: /);
    expect(endedMessage('something new')).toBe(endedMessage(null));
  });
});
