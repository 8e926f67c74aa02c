/** The heartbeat viewer token: kept per room and tab, tolerant of missing or tampered storage. */
import { beforeEach, describe, expect, it } from 'vitest';
import { loadViewerToken, saveViewerToken } from './viewer-token';

const TOKEN = '0123456789abcdef0123456789abcdef.1700000000.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2ln';

beforeEach(() => sessionStorage.clear());

describe('viewer token', () => {
  it('is none until the server issued one, then the same for the tab session', () => {
    expect(loadViewerToken('alice')).toBeNull();
    saveViewerToken('alice', TOKEN);
    expect(loadViewerToken('alice')).toBe(TOKEN);
    expect(loadViewerToken('Alice')).toBe(TOKEN);
    expect(sessionStorage.getItem('ferrocast.viewer_token.alice')).toBe(TOKEN);
  });

  it('is kept per room (a token counts in the room it was issued for only)', () => {
    saveViewerToken('alice', TOKEN);
    expect(loadViewerToken('bob')).toBeNull();
  });

  it('ignores a stored or answered value that is not a token', () => {
    sessionStorage.setItem('ferrocast.viewer_token.alice', '<script>');
    expect(loadViewerToken('alice')).toBeNull();
    saveViewerToken('alice', 'x'.repeat(201));
    expect(loadViewerToken('alice')).toBeNull();
  });

  it('works without storage', () => {
    saveViewerToken('alice', TOKEN, null);
    expect(loadViewerToken('alice', null)).toBeNull();
  });
});
