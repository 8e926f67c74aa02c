/** The heartbeat viewer id: random, stable per tab, tolerant of missing storage. */
import { beforeEach, describe, expect, it } from 'vitest';
import { newViewerId, viewerId } from './viewer-id';

beforeEach(() => sessionStorage.clear());

describe('viewerId', () => {
  it('is random, 128 bits of hex', () => {
    const a = newViewerId();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newViewerId()).not.toBe(a);
  });

  it('stays the same for the tab session', () => {
    const first = viewerId();
    expect(viewerId()).toBe(first);
    expect(sessionStorage.getItem('ferrocast.viewer_id')).toBe(first);
  });

  it('replaces a stored value that is not an id', () => {
    sessionStorage.setItem('ferrocast.viewer_id', '<script>');
    expect(viewerId()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('works without storage', () => {
    expect(viewerId(undefined)).toMatch(/^[0-9a-f]{32}$/);
  });
});
