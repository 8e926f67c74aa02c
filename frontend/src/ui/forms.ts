/**
 * Labelled form fields with an error slot each, and the mapping from the API's field errors
 * (422/409 `error.fields`) onto them.
 *
 * Each field gets `id="field-<name>"`, a `<label for>`, and an error paragraph
 * (`data-testid="error-<name>"`) tied to the input through `aria-describedby` and
 * `aria-invalid`, so screen readers read the message with the field. Errors for fields the form
 * does not have go to the form-level alert rather than being lost.
 */
import { ApiError, type FieldErrors } from '../api/error';
import { h } from '../dom';

export interface FieldSpec {
  name: string;
  label: string;
  type?: string;
  autocomplete?: string;
  hint?: string;
  value?: string;
  placeholder?: string;
  /** The control's id, when one page shows two forms with the same field (`field-<name>` otherwise). */
  id?: string;
}

export type FormControl = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

export interface FieldView<C extends FormControl = HTMLInputElement> {
  input: C;
  error: HTMLElement;
  element: HTMLElement;
}

export function field(spec: FieldSpec): FieldView {
  const input = h('input', {
    name: spec.name,
    type: spec.type ?? 'text',
    autocomplete: spec.autocomplete,
    placeholder: spec.placeholder,
  });
  return labelled(spec, input);
}

/** A multi-line text field (a description), with the same label, hint and error slots. */
export function textareaField(spec: FieldSpec & { rows?: number; maxLength?: number }): FieldView<HTMLTextAreaElement> {
  const input = h('textarea', { name: spec.name, rows: spec.rows ?? 4, placeholder: spec.placeholder, maxlength: spec.maxLength });
  return labelled(spec, input);
}

/** A `<select>` of `options` (value and label), with the same label, hint and error slots. */
export function selectField(
  spec: FieldSpec,
  options: readonly { value: string; label: string }[],
): FieldView<HTMLSelectElement> {
  const input = h('select', { name: spec.name, class: 'select' }, ...options.map((o) => h('option', { value: o.value }, o.label)));
  return labelled(spec, input);
}

function labelled<C extends FormControl>(spec: FieldSpec, input: C): FieldView<C> {
  const id = spec.id ?? `field-${spec.name}`;
  const errorId = spec.id ? `${spec.id}-error` : `error-${spec.name}`;
  const hintId = spec.id ? `${spec.id}-hint` : `hint-${spec.name}`;
  input.id = id;
  input.setAttribute('aria-describedby', spec.hint ? `${hintId} ${errorId}` : errorId);
  input.dataset.testid = `${spec.name}-input`;
  if (spec.value !== undefined) input.value = spec.value;
  const error = h('p', { id: errorId, class: 'field-error', 'data-testid': `error-${spec.name}`, hidden: true });
  const element = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, spec.label),
    input,
    spec.hint ? h('p', { id: hintId, class: 'field-hint' }, spec.hint) : null,
    error,
  );
  return { input, error, element };
}

export class FormErrors {
  constructor(
    private readonly fields: Record<string, FieldView<FormControl>>,
    /** The form-level alert (role="alert"), for errors not tied to one field. */
    private readonly formError: HTMLElement,
  ) {}

  clear(): void {
    for (const view of Object.values(this.fields)) setFieldError(view, null);
    this.formError.hidden = true;
    this.formError.textContent = '';
  }

  /** Shows field messages beside their inputs and focuses the first invalid input. */
  showFields(fields: FieldErrors, fallbackMessage?: string): void {
    this.clear();
    const orphans: string[] = [];
    let first: FormControl | null = null;
    for (const [name, message] of Object.entries(fields)) {
      const view = this.fields[name];
      if (!view) {
        orphans.push(message);
        continue;
      }
      setFieldError(view, message);
      first ??= view.input;
    }
    if (orphans.length) this.showForm(orphans.join(' '));
    else if (!first && fallbackMessage) this.showForm(fallbackMessage);
    first?.focus();
  }

  /** Any failure from the API: field errors when it has some, its message otherwise. */
  showApiError(error: unknown): void {
    if (error instanceof ApiError) {
      if (Object.keys(error.fields).length) this.showFields(error.fields, error.message);
      else {
        this.clear();
        this.showForm(error.message);
      }
    } else {
      this.clear();
      this.showForm('Something went wrong. Please try again.');
    }
  }

  showForm(message: string): void {
    this.formError.textContent = message;
    this.formError.hidden = false;
  }
}

function setFieldError(view: FieldView<FormControl>, message: string | null): void {
  view.error.textContent = message ?? '';
  view.error.hidden = !message;
  if (message) view.input.setAttribute('aria-invalid', 'true');
  else view.input.removeAttribute('aria-invalid');
}

export function formAlert(): HTMLElement {
  return h('p', { class: 'form-error', role: 'alert', 'data-testid': 'error-form', hidden: true });
}

/** Disables a submit button while a request runs, so a double click cannot send twice. */
export async function busy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
