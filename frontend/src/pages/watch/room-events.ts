/**
 * Which live events concern the watched room, and what each one changes.
 *
 * Pure: the page subscribes to the tab's one event stream and hands every event here; only this
 * room's events come back, as the change the page applies.
 */
import type { Room } from '../../api/types';
import type { RoomEvent } from '../../events';

export type RoomChange =
  | { kind: 'started'; room: Room }
  | { kind: 'ended' }
  | { kind: 'viewers'; viewers: number }
  | { kind: 'title'; title: string };

export function roomChange(username: string, event: RoomEvent): RoomChange | null {
  switch (event.type) {
    case 'room_started':
      return event.room.username === username ? { kind: 'started', room: event.room } : null;
    case 'room_ended':
      return event.username === username ? { kind: 'ended' } : null;
    case 'viewers_changed':
      return event.username === username ? { kind: 'viewers', viewers: event.viewers } : null;
    case 'title_changed':
      return event.username === username ? { kind: 'title', title: event.title } : null;
  }
}
