/** Title panel: loads the stored title while offline, saves, follows the live room, a late load never overwrites a save. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiError, byTestId, json, stubApi } from '../../test-support';
import { titlePanel, type TitlePanel } from './title';

const realFetch = globalThis.fetch;
let page: AbortController;
let panel: TitlePanel;

function mount() {
  page = new AbortController();
  panel = titlePanel(page.signal);
  document.body.replaceChildren(panel.element);
}

const input = () => byTestId<HTMLInputElement>(panel.element, 'title-input');
const status = () => byTestId(panel.element, 'title-status').textContent;

function type(text: string) {
  input().value = text;
  input().dispatchEvent(new Event('input'));
}

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
  vi.unstubAllGlobals();
});

describe('title panel', () => {
  it('loads the stored title on open, while the owner is offline', async () => {
    const api = stubApi((method, url) =>
      method === 'GET' && url === '/api/rooms/me/title' ? json({ title: 'Speedrun night' }) : apiError(404, 'not_found', 'offline'),
    );
    mount();
    await vi.waitFor(() => expect(input().value).toBe('Speedrun night'));
    expect(api.calls).toEqual([{ method: 'GET', url: '/api/rooms/me/title', body: undefined }]);
    expect(status()).toBe('');
  });

  it('stays empty without an error when no title was ever set', async () => {
    const api = stubApi(() => json({ title: '' }));
    mount();
    await vi.waitFor(() => expect(api.calls).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(input().value).toBe('');
    expect(status()).toBe('');
  });

  it('saves and shows the title the server kept, then follows the live room again', async () => {
    const api = stubApi((method, _url, body) =>
      method === 'PUT'
        ? json({ title: String((body as { title: string }).title).trim() })
        : json({ title: 'Old title' }),
    );
    mount();
    await vi.waitFor(() => expect(input().value).toBe('Old title'));

    type('  New title ');
    byTestId<HTMLButtonElement>(panel.element, 'save-title').click();
    await vi.waitFor(() => expect(status()).toBe('Title saved.'));
    expect(input().value).toBe('New title');
    expect(api.calls.at(-1)).toEqual({ method: 'PUT', url: '/api/rooms/me/title', body: { title: 'New title' } });

    // A title_changed from another tab reaches the saved (no longer dirty) field.
    input().blur();
    panel.showCurrent('From another tab');
    expect(input().value).toBe('From another tab');
  });

  it('keeps the title the owner saved when the stored title arrives late', async () => {
    let answer: ((response: Response) => void) | undefined;
    stubApi((method) =>
      method === 'PUT' ? json({ title: 'Saved first' }) : new Promise<Response>((resolve) => (answer = resolve)),
    );
    mount();
    type('Saved first');
    byTestId<HTMLButtonElement>(panel.element, 'save-title').click();
    await vi.waitFor(() => expect(status()).toBe('Title saved.'));
    input().blur();
    expect(answer).toBeDefined();
    answer?.(json({ title: 'Stale' }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(input().value).toBe('Saved first');
  });

  it('says so when the stored title cannot be loaded, and the form still saves', async () => {
    stubApi((method) => (method === 'PUT' ? json({ title: 'Anyway' }) : apiError(503, 'unavailable', 'users down')));
    mount();
    await vi.waitFor(() => expect(status()).toBe('Could not load your current title.'));
    type('Anyway');
    expect(status()).toBe('');
    byTestId<HTMLButtonElement>(panel.element, 'save-title').click();
    await vi.waitFor(() => expect(status()).toBe('Title saved.'));
  });

  it('sends the owner back to log in when the session cookie has expired', async () => {
    history.replaceState(null, '', '/dashboard');
    stubApi(() => apiError(401, 'unauthorized', 'token expired'));
    mount();
    await vi.waitFor(() => expect(location.pathname + location.search).toBe('/login?next=%2Fdashboard'));
  });
});
