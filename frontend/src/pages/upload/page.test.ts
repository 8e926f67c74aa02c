/** The upload page's form: which files it takes, the title from the file name, tag chips. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setUser } from '../../session';
import { allByTestId, byTestId, json, stubApi } from '../../test-support';
import { uploadPage } from '.';

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;
const user = { id: 'u1', username: 'alice', email: 'a@example.com', created_at: '2026-01-01T00:00:00Z' };

function choose(file: File) {
  const input = byTestId<HTMLInputElement>(root, 'file-input');
  Object.defineProperty(input, 'files', { value: [file], configurable: true });
  input.dispatchEvent(new Event('change'));
}

async function open() {
  stubApi(() => json({ tags: [] }));
  uploadPage(root, page.signal);
  await vi.waitFor(() => byTestId(root, 'upload-form'));
}

beforeEach(() => {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  history.replaceState(null, '', '/upload');
  setUser(user);
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
});

describe('upload page', () => {
  it('takes a video and starts its title from the file name', async () => {
    await open();
    choose(new File(['x'.repeat(2048)], 'my_holiday.mkv', { type: '' }));
    expect(byTestId(root, 'chosen-file').textContent).toBe('my_holiday.mkv · 2.00 KB · Video');
    expect(byTestId<HTMLInputElement>(root, 'title-input').value).toBe('my holiday');
    expect(byTestId(root, 'error-file').hidden).toBe(true);
  });

  it('refuses a file the catalogue would not take, and an empty one', async () => {
    await open();
    choose(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
    expect(byTestId(root, 'error-file').textContent).toMatch(/“notes.txt” is none of them/);
    expect(byTestId(root, 'file-input').getAttribute('aria-invalid')).toBe('true');
    choose(new File([], 'empty.png', { type: 'image/png' }));
    expect(byTestId(root, 'error-file').textContent).toBe('“empty.png” is empty.');
  });

  it('asks for a file before uploading', async () => {
    await open();
    byTestId<HTMLFormElement>(root, 'upload-form').dispatchEvent(new Event('submit', { cancelable: true }));
    expect(byTestId(root, 'error-file').textContent).toBe('Choose a file to upload.');
  });

  it('turns typed tags into folded chips, and Backspace takes the last one back', async () => {
    await open();
    const input = byTestId<HTMLInputElement>(root, 'tags-input');
    input.value = 'Boats, Sea';
    input.dispatchEvent(new Event('input'));
    expect(allByTestId(root, 'tag-chip').map((c) => c.firstChild?.textContent)).toEqual(['boats']);
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', cancelable: true }));
    expect(allByTestId(root, 'tag-chip').map((c) => c.firstChild?.textContent)).toEqual(['boats', 'sea']);
    expect(input.value).toBe('');
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Backspace' }));
    expect(allByTestId(root, 'tag-chip').map((c) => c.firstChild?.textContent)).toEqual(['boats']);
  });

  it('sends visitors who are not signed in to log in first', async () => {
    setUser(null);
    stubApi(() => json({}, 401));
    uploadPage(root, page.signal);
    await vi.waitFor(() => expect(location.pathname + location.search).toBe('/login?next=%2Fupload'));
  });
});
