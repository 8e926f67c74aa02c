/**
 * Tag chips with autocomplete from `GET /api/tags`, on the ARIA combobox pattern: the text box
 * owns a listbox of suggestions, Up/Down move through them (`aria-activedescendant`), Enter or a
 * comma adds the highlighted suggestion or the typed text, Escape closes the list, Backspace in
 * an empty box removes the last chip. Each chip has its own remove button. Tags are folded as
 * the catalogue folds them (catalog/tags.ts), so a chip shows what will be saved.
 */
import { api } from '../api/endpoints';
import type { TagCount } from '../api/types';
import { addTags, tagPrefix, TAGS_PER_ITEM } from '../catalog/tags';
import { h, replace, setText } from '../dom';
import { liveQuery } from '../live-query';
import type { FieldView } from './forms';
import { onLeave } from './lifecycle';

export interface TagInput extends FieldView {
  tags(): string[];
  set(tags: readonly string[]): void;
  /** Adds whatever is still typed in the box; false (and an error shown) when it is not a tag. */
  commit(): boolean;
}

export interface TagInputOptions {
  /** The field's id (several forms on one page need their own). */
  id?: string;
  label?: string;
  initial?: readonly string[];
  signal: AbortSignal;
}

const SUGGESTIONS = 8;

export function tagInput(options: TagInputOptions): TagInput {
  const id = options.id ?? 'field-tags';
  const listId = `${id}-suggestions`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  let tags: string[] = [...(options.initial ?? [])];
  let suggestions: TagCount[] = [];
  let active = -1;

  const input = h('input', {
    id,
    name: 'tags',
    type: 'text',
    autocomplete: 'off',
    spellcheck: 'false',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    'aria-describedby': `${hintId} ${errorId}`,
    'data-testid': 'tags-input',
    placeholder: 'Add a tag',
  });
  const chips = h('ul', { class: 'chips', 'aria-label': 'Tags', 'data-testid': 'tag-chips' });
  const list = h('ul', { id: listId, role: 'listbox', class: 'suggestions', 'aria-label': 'Suggested tags', hidden: true });
  const error = h('p', { id: errorId, class: 'field-error', 'data-testid': 'error-tags', hidden: true });
  const announcer = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  const element = h(
    'div',
    { class: 'field tag-field' },
    h('label', { for: id }, options.label ?? 'Tags'),
    h('div', { class: 'tag-box' }, chips, input),
    list,
    h('p', { id: hintId, class: 'field-hint' }, `Press Enter or a comma to add a tag. Up to ${TAGS_PER_ITEM}, each up to 32 characters.`),
    error,
    announcer,
  );

  const showError = (message: string | null) => {
    setText(error, message ?? '');
    error.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  const renderChips = () => {
    replace(
      chips,
      ...tags.map((tag) =>
        h(
          'li',
          { class: 'chip', 'data-testid': 'tag-chip' },
          h('span', {}, tag),
          h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove tag ${tag}`, onclick: () => remove(tag) }, '×'),
        ),
      ),
    );
  };

  const close = () => {
    list.hidden = true;
    active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };

  const renderSuggestions = () => {
    const shown = suggestions.filter((s) => !tags.includes(s.tag)).slice(0, SUGGESTIONS);
    if (!shown.length || document.activeElement !== input) {
      close();
      return;
    }
    active = Math.min(active, shown.length - 1);
    replace(
      list,
      ...shown.map((s, i) => {
        const option = h(
          'li',
          { id: `${listId}-${i}`, role: 'option', class: 'suggestion', 'aria-selected': i === active ? 'true' : 'false', 'data-tag': s.tag },
          h('span', {}, s.tag),
          h('span', { class: 'muted' }, String(s.count)),
        );
        // mousedown, not click: the box must keep focus, or its blur would close the list first.
        option.addEventListener('mousedown', (event) => {
          event.preventDefault();
          pick(s.tag);
        });
        return option;
      }),
    );
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    if (active >= 0) input.setAttribute('aria-activedescendant', `${listId}-${active}`);
    else input.removeAttribute('aria-activedescendant');
  };

  const lookup = liveQuery<string, TagCount[]>({
    delayMs: 150,
    // Enough that the item's own tags, left out of the list, never leave it short.
    run: async (prefix, signal) => (await api.tags({ prefix, limit: SUGGESTIONS + TAGS_PER_ITEM }, signal)).tags,
    onAnswer: (found) => {
      suggestions = found;
      active = -1;
      renderSuggestions();
    },
    // Suggestions are a convenience; typing a tag works without them.
    onError: () => close(),
  });
  onLeave(options.signal, () => lookup.cancel());

  const add = (typed: string): boolean => {
    const result = addTags(tags, typed);
    const added = result.tags.filter((t) => !tags.includes(t));
    tags = result.tags;
    renderChips();
    showError(result.error);
    if (added.length) setText(announcer, `Added tag ${added.join(', ')}.`);
    return result.error === null;
  };

  const pick = (tag: string) => {
    add(tag);
    input.value = '';
    suggestions = [];
    close();
    input.focus();
  };

  const remove = (tag: string) => {
    tags = tags.filter((t) => t !== tag);
    renderChips();
    showError(null);
    setText(announcer, `Removed tag ${tag}.`);
    input.focus();
  };

  input.addEventListener('input', () => {
    if (input.value.includes(',')) {
      const pieces = input.value.split(',');
      const rest = pieces.pop() ?? '';
      add(pieces.join(','));
      input.value = rest;
    }
    const prefix = tagPrefix(input.value);
    if (prefix === null) {
      lookup.cancel();
      suggestions = [];
      close();
    } else lookup.update(prefix);
  });

  input.addEventListener('keydown', (event) => {
    const shown = list.hidden ? [] : [...list.querySelectorAll<HTMLElement>('[role="option"]')];
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!shown.length) return;
      event.preventDefault();
      // -1 is the text box itself; the highlight wraps around through it.
      if (event.key === 'ArrowDown') active = active + 1 >= shown.length ? -1 : active + 1;
      else active = active - 1 < -1 ? shown.length - 1 : active - 1;
      renderSuggestions();
    } else if (event.key === 'Enter') {
      const chosen = active >= 0 ? shown[active]?.dataset.tag : undefined;
      if (!chosen && !input.value.trim()) return;
      // Enter adds a tag here instead of submitting the form.
      event.preventDefault();
      if (chosen) pick(chosen);
      else if (add(input.value)) {
        input.value = '';
        close();
      }
    } else if (event.key === 'Escape' && !list.hidden) {
      event.preventDefault();
      close();
    } else if (event.key === 'Backspace' && input.value === '' && tags.length) {
      const last = tags.at(-1);
      if (last) remove(last);
    }
  });
  input.addEventListener('blur', () => close());

  renderChips();

  return {
    input,
    error,
    element,
    tags: () => [...tags],
    set(next) {
      tags = [...next];
      renderChips();
      showError(null);
    },
    commit() {
      if (!input.value.trim()) return true;
      const ok = add(input.value);
      if (ok) input.value = '';
      return ok;
    },
  };
}
