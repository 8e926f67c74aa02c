/** Pending playback requests: decisions matched by request id, whenever and however they come. */
import { describe, expect, it } from 'vitest';
import type { PlaybackSession } from '../api/types';
import { PendingRequests } from './pending';

const granted = (id: string, token = `tok-${id}`) => ({ type: 'granted' as const, request_id: id, media_id: 'm', expires_at_ms: 9, token });
const session = (id: string, token?: string): PlaybackSession => ({
  session_id: id,
  media_id: 'm',
  device: 'd',
  title: 't',
  started_at_ms: 1,
  expires_at_ms: 9,
  ...(token ? { token } : {}),
});

describe('PendingRequests', () => {
  it('hands a decision that came before the 202 to its request when the 202 names it', () => {
    const pending = new PendingRequests();
    const connected = pending.tick();
    expect(pending.event(granted('r1'), connected)).toEqual({ decisions: [], release: [] });
    expect(pending.answered('r1')).toEqual([{ kind: 'granted', requestId: 'r1', mediaId: 'm', expiresAtMs: 9, token: 'tok-r1' }]);
    expect(pending.has('r1')).toBe(false);
  });

  it('keeps a request that was only queued before its 202 until it is granted', () => {
    const pending = new PendingRequests();
    const connected = pending.tick();
    pending.event({ type: 'queued', request_id: 'r1', position: 2 }, connected);
    expect(pending.answered('r1')).toEqual([{ kind: 'queued', requestId: 'r1', position: 2 }]);
    expect(pending.has('r1')).toBe(true);
    expect(pending.event({ type: 'queued', request_id: 'r1', position: 1 }, connected).decisions).toEqual([
      { kind: 'queued', requestId: 'r1', position: 1 },
    ]);
    expect(pending.event(granted('r1'), connected).decisions).toMatchObject([{ kind: 'granted', requestId: 'r1' }]);
    expect(pending.has('r1')).toBe(false);
  });

  it('does not let a late place in line hide a decision already made', () => {
    const pending = new PendingRequests();
    pending.event(granted('r1'), 1);
    pending.event({ type: 'queued', request_id: 'r1', position: 1 }, 1);
    expect(pending.answered('r1')).toMatchObject([{ kind: 'granted' }]);
  });

  it('settles a request once: a second decision about it is not ours any more', () => {
    const pending = new PendingRequests();
    pending.answered('r1');
    expect(pending.event({ type: 'denied', request_id: 'r1', reason: 'limit', active: [] }, 1).decisions).toHaveLength(1);
    expect(pending.event({ type: 'denied', request_id: 'r1', reason: 'limit', active: [] }, 1).decisions).toEqual([]);
  });

  it('reads a snapshot after a reconnect: granted with the token, still queued, or lost', () => {
    const pending = new PendingRequests();
    pending.answered('granted');
    pending.answered('waiting');
    pending.answered('missed');
    const reconnected = pending.tick();
    const outcome = pending.event(
      { type: 'snapshot', sessions: [session('granted', 'tok'), session('other', 'x')], queued: [{ request_id: 'waiting', media_id: 'm', device: 'd', title: 't', position: 3 }] },
      reconnected,
    );
    expect(outcome.decisions).toEqual([
      { kind: 'granted', requestId: 'granted', mediaId: 'm', expiresAtMs: 9, token: 'tok' },
      { kind: 'queued', requestId: 'waiting', position: 3 },
      { kind: 'lost', requestId: 'missed' },
    ]);
    expect(pending.has('waiting')).toBe(true);
    expect(pending.has('missed')).toBe(false);
  });

  it('does not call a request lost from a list taken before its 202', () => {
    const pending = new PendingRequests();
    const connected = pending.tick();
    pending.answered('r1');
    expect(pending.event({ type: 'snapshot', sessions: [], queued: [] }, connected).decisions).toEqual([]);
    expect(pending.has('r1')).toBe(true);
    expect(pending.resync({ sessions: [], queued: [] }, pending.tick()).decisions).toEqual([{ kind: 'lost', requestId: 'r1' }]);
  });

  it('settles a waiting request withdrawn elsewhere', () => {
    const pending = new PendingRequests();
    pending.answered('r1');
    expect(pending.event({ type: 'ended', session_id: 'r1', reason: 'stopped' }, 1).decisions).toEqual([
      { kind: 'ended', requestId: 'r1', reason: 'stopped' },
    ]);
    expect(pending.event({ type: 'ended', session_id: 'other', reason: 'stopped' }, 1).decisions).toEqual([]);
  });

  it('releases a grant that comes for a request this tab gave up on', () => {
    const pending = new PendingRequests();
    pending.answered('r1');
    pending.abandon('r1');
    expect(pending.event(granted('r1'), 1)).toEqual({ decisions: [], release: ['r1'] });
    pending.answered('r2');
    pending.abandon('r2');
    expect(pending.resync({ sessions: [session('r2', 't')], queued: [] }, pending.tick())).toEqual({ decisions: [], release: ['r2'] });
  });

  it('keeps a bounded number of other devices’ decisions', () => {
    const pending = new PendingRequests(2);
    for (const id of ['a', 'b', 'c']) pending.event(granted(id), 1);
    expect(pending.answered('a')).toEqual([]);
    expect(pending.answered('c')).toMatchObject([{ kind: 'granted', requestId: 'c' }]);
  });
});
