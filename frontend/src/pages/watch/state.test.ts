/** What each watch state shows, what a rooms 404 means in it, and what the tick does. */
import { describe, expect, it } from 'vitest';
import { afterRoomGone, present, spinnerShown, tickAction, type WatchState } from './state';

describe('watch state', () => {
  it('shows the spinner while loading and while live until frames play', () => {
    expect(spinnerShown('loading', false)).toBe(true);
    expect(spinnerShown('live', false)).toBe(true);
    expect(spinnerShown('live', true)).toBe(false);
    for (const s of ['offline', 'ended', 'error'] as const) expect(spinnerShown(s, false)).toBe(false);
  });

  it('shows live information only while live and greys the player out when not', () => {
    const live = present('live', 'alice', true);
    expect(live).toMatchObject({ liveInfo: true, endedCard: false, error: false, dimmed: false, hidePlayButton: false });
    expect(live.announce).toBe('alice is live.');
    expect(present('loading', 'alice', false)).toMatchObject({ spinner: true, dimmed: false, hidePlayButton: true });
    expect(present('loading', 'alice', false).announce).toBeUndefined();
  });

  it('tells "Offline" from "Stream ended" and clears the quality menu for both', () => {
    const offline = present('offline', 'alice', false);
    expect(offline).toMatchObject({ endedCard: true, dimmed: true, clearQuality: true, endedHeading: 'Offline' });
    expect(offline.endedText).toContain('alice is not live right now');
    expect(offline.announce).toBe('alice is offline.');
    const ended = present('ended', 'alice', false);
    expect(ended).toMatchObject({ endedCard: true, clearQuality: true, endedHeading: 'Stream ended' });
    expect(ended.endedText).toContain('alice is no longer live');
    expect(ended.announce).toBe("alice's stream ended.");
  });

  it('shows and announces the error message', () => {
    const p = present('error', 'alice', false, 'broken');
    expect(p).toMatchObject({ error: true, endedCard: false, dimmed: true, errorText: 'broken', announce: 'broken' });
  });

  it('reads a rooms 404 as ended after live, offline before, and nothing new when offline', () => {
    const cases: [WatchState, ReturnType<typeof afterRoomGone>][] = [
      ['live', 'ended'],
      ['ended', 'ended'],
      ['loading', 'offline'],
      ['error', 'offline'],
      ['offline', null],
    ];
    for (const [state, next] of cases) expect(afterRoomGone(state)).toBe(next);
  });

  it('beats while live, polls otherwise, and leaves a player error alone', () => {
    expect(tickAction('live')).toBe('heartbeat');
    expect(tickAction('loading')).toBe('check');
    expect(tickAction('offline')).toBe('check');
    expect(tickAction('ended')).toBe('check');
    expect(tickAction('error')).toBeNull();
  });
});
