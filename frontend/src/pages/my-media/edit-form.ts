/**
 * The inline editor of one item on My media: title, description, tags and visibility, saved
 * with `PATCH /api/media/{id}` (only what changed is sent). Field errors from the API land
 * beside their fields, as on every form.
 */
import { api } from '../../api/endpoints';
import { isAbortError } from '../../api/error';
import type { Media, UpdateMedia, Visibility } from '../../api/types';
import { validateDetails, VISIBILITIES } from '../../catalog/media';
import { h } from '../../dom';
import { handleExpiredSession } from '../../session';
import { busy, field, formAlert, FormErrors, selectField, textareaField } from '../../ui/forms';
import { tagInput } from '../../ui/tag-input';

/** The fields of `next` that differ from `item`, as a PATCH body (empty when nothing changed). */
export function changes(item: Media, next: { title: string; description: string; tags: string[]; visibility: Visibility }): UpdateMedia {
  const body: UpdateMedia = {};
  if (next.title !== item.title) body.title = next.title;
  if (next.description !== item.description) body.description = next.description;
  if (next.tags.length !== item.tags.length || next.tags.some((t, i) => t !== item.tags[i])) body.tags = next.tags;
  if (next.visibility !== item.visibility) body.visibility = next.visibility;
  return body;
}

export function editForm(
  item: Media,
  signal: AbortSignal,
  done: (saved: Media | null) => void,
): { element: HTMLFormElement; focus(): void } {
  const prefix = `edit-${item.id}`;
  const title = field({ name: 'title', label: 'Title', id: `${prefix}-title`, value: item.title });
  title.input.setAttribute('autocomplete', 'off');
  const description = textareaField({ name: 'description', label: 'Description', id: `${prefix}-description`, value: item.description, rows: 3 });
  const tags = tagInput({ signal, id: `${prefix}-tags`, initial: item.tags });
  const visibility = selectField(
    { name: 'visibility', label: 'Who can see it', id: `${prefix}-visibility`, value: item.visibility },
    VISIBILITIES.map((v) => ({ value: v.value, label: `${v.label} — ${v.hint}` })),
  );
  visibility.input.value = item.visibility;
  const alert = formAlert();
  const errors = new FormErrors({ title, description, tags, visibility }, alert);
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'edit-save' }, 'Save');
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'edit-cancel', onclick: () => done(null) }, 'Cancel');
  const element = h(
    'form',
    { class: 'form media-edit', novalidate: true, 'aria-label': `Edit ${item.title}`, 'data-testid': 'edit-form' },
    alert,
    title.element,
    description.element,
    tags.element,
    visibility.element,
    h('div', { class: 'actions' }, save, cancel),
  );
  element.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented) done(null);
  });

  element.addEventListener('submit', (event) => {
    event.preventDefault();
    errors.clear();
    if (!tags.commit()) return;
    const invalid = validateDetails({ title: title.input.value, description: description.input.value });
    if (Object.keys(invalid).length) {
      errors.showFields(invalid);
      return;
    }
    const body = changes(item, {
      title: title.input.value.trim(),
      description: description.input.value.replace(/\r\n/g, '\n').trim(),
      tags: tags.tags(),
      visibility: visibility.input.value as Visibility,
    });
    if (!Object.keys(body).length) {
      done(null);
      return;
    }
    void busy(save, async () => {
      try {
        done(await api.updateMedia(item.id, body, signal));
      } catch (error) {
        if (!isAbortError(error) && !handleExpiredSession(error)) errors.showApiError(error);
      }
    });
  });

  return { element, focus: () => title.input.focus() };
}
