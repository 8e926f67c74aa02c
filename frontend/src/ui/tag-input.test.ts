/** Tag autocomplete: suggestions for what is typed, keyboard choice, the item's own tags left out. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubApi } from '../test-support';
import { tagInput } from './tag-input';

const realFetch = globalThis.fetch;
let page: AbortController;

beforeEach(() => {
  page = new AbortController();
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
});

function type(input: HTMLInputElement, text: string) {
  input.value = text;
  input.dispatchEvent(new Event('input'));
}

function key(input: HTMLInputElement, name: string) {
  input.dispatchEvent(new KeyboardEvent('keydown', { key: name, cancelable: true }));
}

describe('tagInput', () => {
  it('suggests tags for what is typed and adds the one chosen with the keyboard', async () => {
    const api = stubApi(() =>
      json({ tags: [{ tag: 'boats', count: 5 }, { tag: 'boardwalk', count: 2 }, { tag: 'bokeh', count: 1 }] }),
    );
    const tags = tagInput({ signal: page.signal, initial: ['bokeh'] });
    document.body.replaceChildren(tags.element);
    tags.input.focus();
    type(tags.input, 'Bo');
    const options = () => [...tags.element.querySelectorAll<HTMLElement>('[role="option"]')].map((o) => o.dataset.tag);
    await vi.waitFor(() => expect(options()).toEqual(['boats', 'boardwalk']));
    expect(api.calls[0]!.url).toBe('/api/tags?prefix=bo&limit=28');
    expect(tags.input.getAttribute('aria-expanded')).toBe('true');

    key(tags.input, 'ArrowDown');
    key(tags.input, 'ArrowDown');
    expect(tags.input.getAttribute('aria-activedescendant')).toBe('field-tags-suggestions-1');
    key(tags.input, 'Enter');
    expect(tags.tags()).toEqual(['bokeh', 'boardwalk']);
    expect(tags.input.value).toBe('');
    expect(tags.input.getAttribute('aria-expanded')).toBe('false');
  });

  it('closes the suggestions on Escape and shows why a typed tag is refused', async () => {
    stubApi(() => json({ tags: [{ tag: 'sea', count: 1 }] }));
    const tags = tagInput({ signal: page.signal });
    document.body.replaceChildren(tags.element);
    tags.input.focus();
    type(tags.input, 's');
    await vi.waitFor(() => expect(tags.input.getAttribute('aria-expanded')).toBe('true'));
    key(tags.input, 'Escape');
    expect(tags.input.getAttribute('aria-expanded')).toBe('false');

    type(tags.input, 'x'.repeat(40));
    expect(tags.commit()).toBe(false);
    expect(tags.error.hidden).toBe(false);
    expect(tags.input.getAttribute('aria-invalid')).toBe('true');
  });
});
