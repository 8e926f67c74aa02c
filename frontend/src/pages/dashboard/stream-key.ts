/**
 * The dashboard's stream key panel.
 *
 * The server stores only a hash of the key and a short display prefix, so the full key exists
 * in this page only right after `POST /api/users/me/stream-key` (create or rotate). It is kept
 * in this closure, never in storage, shown masked until the owner presses Reveal (screen
 * sharing while setting up OBS is common), and copyable either way. Rotation cuts any stream
 * using the old key, so it sits behind a confirmation.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { CreatedStreamKey, StreamKeyInfo } from '../../api/types';
import { copyText } from '../../clipboard';
import { h, replace, setText } from '../../dom';
import { formatDate } from '../../format';
import { confirmDialog } from '../../ui/confirm';
import { handleExpiredSession } from '../../session';
import { busy } from '../../ui/forms';

/** What the key element shows: the key, or its prefix followed by dots. */
export function maskedKey(key: string, prefix: string, revealed: boolean): string {
  if (revealed) return key;
  const visible = prefix && key.startsWith(prefix) ? prefix : '';
  return `${visible}${'•'.repeat(Math.max(8, Math.min(24, key.length - visible.length)))}`;
}

type KeyState =
  | { kind: 'loading' }
  | { kind: 'none' }
  | { kind: 'stored'; info: StreamKeyInfo }
  | { kind: 'fresh'; key: CreatedStreamKey }
  | { kind: 'error'; message: string };

export function streamKeyPanel(signal: AbortSignal): HTMLElement {
  const body = h('div', { class: 'panel-body' });
  const status = h('p', { class: 'panel-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'key-status' });
  const panel = h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'key-heading', 'data-testid': 'stream-key-panel' },
    h('h2', { id: 'key-heading' }, 'Stream key'),
    body,
    status,
  );

  let revealed = false;

  const render = (state: KeyState) => {
    switch (state.kind) {
      case 'loading':
        replace(body, h('p', { class: 'muted' }, 'Loading your stream key…'));
        return;
      case 'error':
        replace(body, h('p', { class: 'notice notice-error', role: 'alert' }, state.message), retryButton());
        return;
      case 'none': {
        const create = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'create-key' }, 'Create stream key');
        create.addEventListener('click', () => void busy(create, createKey));
        replace(
          body,
          h('p', {}, 'You need a stream key to go live. OBS sends it to ferrocast to prove the stream is yours.'),
          create,
        );
        return;
      }
      case 'stored': {
        replace(
          body,
          h(
            'p',
            { class: 'key-row' },
            h('code', { class: 'key', 'data-testid': 'stream-key' }, `${state.info.prefix}…`),
          ),
          h('p', { class: 'muted' }, `Created ${formatDate(state.info.created_at)}.`),
          h(
            'p',
            {},
            'For your safety the full key was shown only once, when it was created. ' +
              'If you no longer have it, rotate it to get a new one.',
          ),
          h('div', { class: 'actions' }, rotateButton()),
        );
        return;
      }
      case 'fresh': {
        const { key } = state;
        const code = h('code', { class: 'key', 'data-testid': 'stream-key' }, maskedKey(key.stream_key, key.prefix, revealed));
        code.setAttribute('aria-label', revealed ? 'Stream key' : 'Stream key (hidden)');
        const reveal = h(
          'button',
          { type: 'button', class: 'btn', 'data-testid': 'reveal-key', 'aria-pressed': String(revealed) },
          revealed ? 'Hide' : 'Reveal',
        );
        reveal.addEventListener('click', () => {
          revealed = !revealed;
          render(state);
          panel.querySelector<HTMLButtonElement>('[data-testid="reveal-key"]')?.focus();
        });
        const copy = h('button', { type: 'button', class: 'btn', 'data-testid': 'copy-key' }, 'Copy');
        copy.addEventListener('click', async () => {
          const ok = await copyText(key.stream_key);
          setText(status, ok ? 'Stream key copied to the clipboard.' : 'Copy failed: reveal the key and copy it by hand.');
        });
        replace(
          body,
          h(
            'p',
            { class: 'notice notice-warn', 'data-testid': 'key-once' },
            h('strong', {}, 'Copy this key now — it is shown only once. '),
            'Paste it into OBS (Settings → Stream → Stream Key). Anyone who has it can stream as you; never share it or show it on stream.',
          ),
          h('p', { class: 'key-row' }, code),
          h('div', { class: 'actions' }, reveal, copy, rotateButton()),
        );
        return;
      }
    }
  };

  const retryButton = () => {
    const retry = h('button', { type: 'button', class: 'btn' }, 'Try again');
    retry.addEventListener('click', () => void load());
    return retry;
  };

  const rotateButton = () => {
    const rotate = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'rotate-key' }, 'Rotate key');
    rotate.addEventListener('click', async () => {
      const yes = await confirmDialog({
        title: 'Rotate your stream key?',
        body: 'Your current key stops working at once, and a stream using it is cut off. You will need to paste the new key into OBS.',
        confirmLabel: 'Rotate key',
        danger: true,
      });
      if (yes) await busy(rotate, createKey);
    });
    return rotate;
  };

  const createKey = async () => {
    try {
      const key = await api.createStreamKey(signal);
      revealed = false;
      render({ kind: 'fresh', key });
      setText(status, 'New stream key created. Copy it now, it is shown only once.');
      panel.querySelector<HTMLButtonElement>('[data-testid="copy-key"]')?.focus();
    } catch (error) {
      if (isAbortError(error) || handleExpiredSession(error)) return;
      setText(status, error instanceof Error ? `Could not create a key: ${error.message}` : 'Could not create a key.');
    }
  };

  const load = async () => {
    render({ kind: 'loading' });
    try {
      render({ kind: 'stored', info: await api.getStreamKey(signal) });
    } catch (error) {
      if (isAbortError(error) || handleExpiredSession(error)) return;
      if (error instanceof ApiError && error.isNotFound) render({ kind: 'none' });
      else render({ kind: 'error', message: error instanceof Error ? error.message : 'Could not load your stream key.' });
    }
  };

  void load();
  return panel;
}
