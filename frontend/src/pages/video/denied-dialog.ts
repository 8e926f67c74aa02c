/**
 * "This account already plays N videos": the choice a denied playback request leaves the
 * viewer — end one of the account's sessions (and play here), wait for a free screen, or not
 * play now.
 *
 * A native modal `<dialog>` like ui/confirm.ts (focus kept inside, Escape = Cancel, the page
 * behind inert). Each session says what plays where and since when, and its "End it" button
 * names it for screen readers. Test ids: `playback-denied`, `denied-session` (with
 * `data-session-id`), `denied-end`, `denied-wait`, `denied-cancel`.
 */
import type { PlaybackSession } from '../../api/types';
import { h } from '../../dom';
import { formatStarted } from '../../format';

export type DeniedChoice = { kind: 'end'; sessionId: string } | { kind: 'wait' } | { kind: 'cancel' };

export function deniedTitle(count: number): string {
  return `This account already plays ${count} ${count === 1 ? 'video' : 'videos'}`;
}

export function deniedDialog(active: readonly PlaybackSession[], now: number = Date.now()): Promise<DeniedChoice> {
  const id = Math.random().toString(36).slice(2);
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'denied-cancel' }, 'Cancel');
  const wait = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'denied-wait' }, 'Wait for a free screen');
  const rows = active.map((session) => {
    const title = session.title || 'A video';
    const device = session.device || 'another device';
    const end = h(
      'button',
      { type: 'button', class: 'btn btn-danger', 'data-testid': 'denied-end', 'aria-label': `End it: ${title} on ${device}` },
      'End it',
    );
    const row = h(
      'li',
      { class: 'session-row', 'data-testid': 'denied-session', 'data-session-id': session.session_id },
      h(
        'div',
        { class: 'session-body' },
        h('span', { class: 'session-title' }, title),
        h('span', { class: 'field-hint' }, `${device} · ${formatStarted(session.started_at_ms, now)}`),
      ),
      end,
    );
    return { row, end, sessionId: session.session_id };
  });
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': `denied-title-${id}`, 'aria-describedby': `denied-body-${id}`, 'data-testid': 'playback-denied' },
    h('h2', { id: `denied-title-${id}` }, deniedTitle(active.length)),
    h('p', { id: `denied-body-${id}` }, 'End one of them to play here, or wait for a free screen.'),
    rows.length ? h('ul', { class: 'session-list' }, ...rows.map((r) => r.row)) : null,
    h('div', { class: 'dialog-actions' }, cancel, wait),
  );

  const opener = document.activeElement as HTMLElement | null;
  document.body.appendChild(dialog);
  return new Promise<DeniedChoice>((resolve) => {
    const finish = (choice: DeniedChoice) => {
      if (dialog.open) dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(choice);
    };
    cancel.addEventListener('click', () => finish({ kind: 'cancel' }));
    wait.addEventListener('click', () => finish({ kind: 'wait' }));
    for (const { end, sessionId } of rows) end.addEventListener('click', () => finish({ kind: 'end', sessionId }));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish({ kind: 'cancel' });
    });
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    // Waiting changes nothing for anyone else: the safe first choice for an accidental Enter.
    wait.focus();
  });
}
