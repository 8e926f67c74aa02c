/**
 * The stream title form (`PUT /api/rooms/me/title`). The title persists for the next stream, so
 * it can be set while offline; a live room's viewers see it change through `title_changed`.
 *
 * On open it loads the stored title from `GET /api/rooms/me/title`, since a `Room` (and its
 * title) exists only while live: without this the box would be empty whenever the owner is
 * offline, and saving would silently replace a title they could not see.
 */
import { api } from '../../api/endpoints';
import { isAbortError } from '../../api/error';
import { h, setText } from '../../dom';
import { handleExpiredSession } from '../../session';
import { busy, field, formAlert, FormErrors } from '../../ui/forms';

export interface TitlePanel {
  element: HTMLElement;
  /** Shows the live room's title, unless the owner is editing it. */
  showCurrent(title: string): void;
}

export function titlePanel(signal: AbortSignal): TitlePanel {
  const title = field({
    name: 'title',
    label: 'Title',
    placeholder: 'What are you streaming today?',
    hint: 'Shown on the home page and your channel. Kept for your next stream.',
  });
  title.input.setAttribute('autocomplete', 'off');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-title' }, 'Save title');
  const status = h('p', { class: 'panel-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'title-status' });
  const alert = formAlert();
  const errors = new FormErrors({ title }, alert);
  let dirty = false;
  // Set once the owner types or saves: from then on their text wins over the stored title,
  // even if the load answers late.
  let touched = false;
  title.input.addEventListener('input', () => {
    dirty = true;
    touched = true;
    setText(status, '');
  });

  const showCurrent = (current: string) => {
    if (!dirty && document.activeElement !== title.input) title.input.value = current;
  };

  const form = h(
    'form',
    { class: 'form', novalidate: true, 'data-testid': 'title-form' },
    alert,
    title.element,
    h('div', { class: 'actions' }, save),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(save, async () => {
      errors.clear();
      setText(status, '');
      try {
        const answer = await api.setTitle(title.input.value.trim(), signal);
        title.input.value = answer.title;
        dirty = false;
        touched = true;
        setText(status, 'Title saved.');
      } catch (error) {
        if (!isAbortError(error) && !handleExpiredSession(error)) errors.showApiError(error);
      }
    });
  });

  const element = h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'title-heading', 'data-testid': 'title-panel' },
    h('h2', { id: 'title-heading' }, 'Stream title'),
    form,
  );

  const load = async () => {
    try {
      const stored = await api.getTitle(signal);
      if (!touched) showCurrent(stored.title);
    } catch (error) {
      if (isAbortError(error) || handleExpiredSession(error)) return;
      // The form still works without it; saving sets the title either way.
      if (!touched) setText(status, 'Could not load your current title.');
    }
  };
  void load();

  return { element, showCurrent };
}
