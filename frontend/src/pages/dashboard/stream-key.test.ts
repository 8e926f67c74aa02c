/** Stream key panel: create, masked until revealed, copy, rotate behind a confirmation, expired session. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, byTestId, json, stubApi } from '../../test-support';
import { maskedKey, streamKeyPanel } from './stream-key';
import { obsServerUrl } from './obs';

const realFetch = globalThis.fetch;
let page: AbortController;
let root: HTMLElement;
const KEY = 'live_AbCdEf0123456789xyzXYZ_-';

function mount() {
  page = new AbortController();
  root = streamKeyPanel(page.signal);
  document.body.replaceChildren(root);
}

function answer(button: 'confirm-ok' | 'confirm-cancel') {
  byTestId<HTMLButtonElement>(document.body, button).click();
}

beforeEach(() => {
  page = new AbortController();
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
  vi.unstubAllGlobals();
});

describe('maskedKey', () => {
  it('shows the prefix and hides the rest until revealed', () => {
    expect(maskedKey(KEY, 'live_AbCd', false)).toMatch(/^live_AbCd•+$/);
    expect(maskedKey(KEY, 'live_AbCd', false)).not.toContain('Ef01');
    expect(maskedKey(KEY, 'live_AbCd', true)).toBe(KEY);
  });

  it('hides everything when the prefix does not match the key', () => {
    expect(maskedKey(KEY, 'other', false)).toMatch(/^•+$/);
  });
});

describe('obsServerUrl', () => {
  it('points at port 1935 of the page host', () => {
    expect(obsServerUrl('stream.example.org')).toBe('rtmp://stream.example.org:1935/live');
    expect(obsServerUrl('::1')).toBe('rtmp://[::1]:1935/live');
  });
});

describe('stream key panel', () => {
  it('offers to create a key when there is none, then shows it once, masked', async () => {
    let created = false;
    stubApi((method) => {
      if (method === 'POST') {
        created = true;
        return json({ stream_key: KEY, prefix: 'live_AbCd', created_at: '2026-01-01T00:00:00Z' }, 201);
      }
      return created ? json({ prefix: 'live_AbCd', created_at: '2026-01-01T00:00:00Z' }) : apiError(404, 'not_found', 'none');
    });
    mount();
    const create = await vi.waitFor(() => byTestId<HTMLButtonElement>(root, 'create-key'));
    expect(create.textContent).toBe('Create stream key');
    create.click();
    const key = await vi.waitFor(() => byTestId(root, 'stream-key'));
    expect(key.textContent).not.toContain(KEY);
    expect(byTestId(root, 'key-once').textContent).toMatch(/shown only once/);

    const reveal = byTestId<HTMLButtonElement>(root, 'reveal-key');
    reveal.click();
    expect(byTestId(root, 'stream-key').textContent).toBe(KEY);
    expect(byTestId(root, 'reveal-key').getAttribute('aria-pressed')).toBe('true');
    byTestId<HTMLButtonElement>(root, 'reveal-key').click();
    expect(byTestId(root, 'stream-key').textContent).not.toContain(KEY);
  });

  it('copies the full key even while it is masked', async () => {
    stubApi((method) =>
      method === 'POST'
        ? json({ stream_key: KEY, prefix: 'live_AbCd', created_at: '2026-01-01T00:00:00Z' }, 201)
        : apiError(404, 'not_found', 'none'),
    );
    const writeText = vi.fn(async () => undefined);
    vi.stubGlobal('isSecureContext', true);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    mount();
    (await vi.waitFor(() => byTestId<HTMLButtonElement>(root, 'create-key'))).click();
    (await vi.waitFor(() => byTestId<HTMLButtonElement>(root, 'copy-key'))).click();
    await vi.waitFor(() => expect(writeText).toHaveBeenCalledWith(KEY));
    await vi.waitFor(() => expect(byTestId(root, 'key-status').textContent).toMatch(/copied/i));
  });

  it('shows only the prefix of an existing key and rotates it after confirmation', async () => {
    const api = stubApi((method) =>
      method === 'POST'
        ? json({ stream_key: KEY, prefix: 'live_AbCd', created_at: '2026-02-01T00:00:00Z' }, 201)
        : json({ prefix: 'live_Old1', created_at: '2026-01-01T00:00:00Z' }),
    );
    mount();
    await vi.waitFor(() => expect(byTestId(root, 'stream-key').textContent).toBe('live_Old1…'));
    expect(root.querySelector('[data-testid="reveal-key"]')).toBeNull();

    byTestId<HTMLButtonElement>(root, 'rotate-key').click();
    expect(byTestId<HTMLDialogElement>(document.body, 'confirm-dialog').open).toBe(true);
    answer('confirm-cancel');
    expect(document.querySelector('[data-testid="confirm-dialog"]')).toBeNull();
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);

    byTestId<HTMLButtonElement>(root, 'rotate-key').click();
    answer('confirm-ok');
    await vi.waitFor(() => expect(byTestId(root, 'reveal-key')).toBeTruthy());
    expect(api.calls.filter((c) => c.method === 'POST' && c.url === '/api/users/me/stream-key')).toHaveLength(1);
    byTestId<HTMLButtonElement>(root, 'reveal-key').click();
    expect(byTestId(root, 'stream-key').textContent).toBe(KEY);
  });

  it('sends the owner back to log in when the session cookie has expired', async () => {
    history.replaceState(null, '', '/dashboard');
    stubApi(() => apiError(401, 'unauthorized', 'token expired'));
    mount();
    await vi.waitFor(() => expect(location.pathname + location.search).toBe('/login?next=%2Fdashboard'));
  });
});
