/** Only the watched room's events come through, each as the change it makes. */
import { describe, expect, it } from 'vitest';
import { room } from '../../test-support';
import { roomChange } from './room-events';

describe('roomChange', () => {
  it('maps this room’s events to changes', () => {
    const started = room('alice');
    expect(roomChange('alice', { type: 'room_started', room: started })).toEqual({ kind: 'started', room: started });
    expect(roomChange('alice', { type: 'room_ended', username: 'alice' })).toEqual({ kind: 'ended' });
    expect(roomChange('alice', { type: 'viewers_changed', username: 'alice', viewers: 3 })).toEqual({ kind: 'viewers', viewers: 3 });
    expect(roomChange('alice', { type: 'title_changed', username: 'alice', title: 'Hi' })).toEqual({ kind: 'title', title: 'Hi' });
  });

  it('ignores other rooms', () => {
    expect(roomChange('alice', { type: 'room_started', room: room('bob') })).toBeNull();
    expect(roomChange('alice', { type: 'room_ended', username: 'bob' })).toBeNull();
    expect(roomChange('alice', { type: 'viewers_changed', username: 'bob', viewers: 3 })).toBeNull();
    expect(roomChange('alice', { type: 'title_changed', username: 'bob', title: 'Hi' })).toBeNull();
  });
});
