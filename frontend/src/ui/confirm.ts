/**
 * An accessible confirmation dialog on the native `<dialog>` element.
 *
 * `showModal()` gives focus trapping, Escape to cancel and an inert page behind for free; the
 * safe choice (Cancel) has focus first so an accidental Enter does nothing destructive. Stable
 * test ids: `confirm-dialog`, `confirm-ok`, `confirm-cancel`.
 */
import { h } from '../dom';

export interface ConfirmOptions {
  title: string;
  body: string;
  confirmLabel: string;
  danger?: boolean;
}

export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  const titleId = `confirm-title-${Math.random().toString(36).slice(2)}`;
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-cancel', autofocus: true }, 'Cancel');
  const ok = h(
    'button',
    { type: 'button', class: options.danger ? 'btn btn-danger' : 'btn btn-primary', 'data-testid': 'confirm-ok' },
    options.confirmLabel,
  );
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': titleId, 'data-testid': 'confirm-dialog' },
    h('h2', { id: titleId }, options.title),
    h('p', {}, options.body),
    h('div', { class: 'dialog-actions' }, cancel, ok),
  );

  if (typeof dialog.showModal !== 'function') {
    return Promise.resolve(window.confirm(`${options.title}\n\n${options.body}`));
  }

  const opener = document.activeElement as HTMLElement | null;
  document.body.appendChild(dialog);
  return new Promise<boolean>((resolve) => {
    const finish = (answer: boolean) => {
      if (dialog.open) dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(answer);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    // Escape closes the dialog natively; treat it as Cancel.
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    dialog.showModal();
    cancel.focus();
  });
}
