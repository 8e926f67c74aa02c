/**
 * The upload form's encryption choice: encrypt this video (its own key and key id), and the
 * account's default for the next ones. The default comes from `GET /api/media/settings` and is
 * saved as soon as it changes; each upload sends its own choice. Images are never encrypted, so
 * the choice hides for them.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import { h, setText } from '../../dom';

export interface EncryptionChoice {
  element: HTMLElement;
  /** Whether this upload is encrypted. */
  encrypt(): boolean;
  /** Shows the choice for videos only. */
  setKind(kind: 'video' | 'image' | null): void;
}

type SettingsApi = Pick<typeof api, 'mediaSettings' | 'saveMediaSettings'>;

export function encryptionChoice(signal: AbortSignal, deps: SettingsApi = api): EncryptionChoice {
  const thisOne = h('input', { type: 'checkbox', id: 'field-encrypt', name: 'encrypt', 'data-testid': 'encrypt' }) as HTMLInputElement;
  const byDefault = h('input', { type: 'checkbox', id: 'field-encrypt-default', name: 'encrypt_default', 'data-testid': 'encrypt-default' }) as HTMLInputElement;
  const message = h('p', { class: 'field-error', role: 'status', 'data-testid': 'encrypt-message', hidden: true });
  const element = h(
    'div',
    { class: 'field field-checks' },
    h('label', { for: 'field-encrypt', class: 'check' }, thisOne, ' Encrypt this video'),
    h('p', { class: 'field-hint' }, 'Packaged with its own key. For now only you can play it; others see it but get no key.'),
    h('label', { for: 'field-encrypt-default', class: 'check' }, byDefault, ' Encrypt my videos by default'),
    message,
  );

  const say = (text: string | null) => {
    setText(message, text ?? '');
    message.hidden = !text;
  };

  void deps.mediaSettings(signal).then(
    (settings) => {
      byDefault.checked = settings.encrypt_videos;
      thisOne.checked = settings.encrypt_videos;
    },
    (error: unknown) => {
      if (!isAbortError(error)) say('Your default could not be loaded; choose for this video.');
    },
  );

  byDefault.addEventListener('change', () => {
    const wanted = byDefault.checked;
    thisOne.checked = wanted;
    byDefault.disabled = true;
    say(null);
    deps
      .saveMediaSettings({ encrypt_videos: wanted }, signal)
      .then(
        () => say(null),
        (error: unknown) => {
          if (isAbortError(error)) return;
          byDefault.checked = !wanted;
          thisOne.checked = !wanted;
          say(error instanceof ApiError ? error.message : 'The default was not saved; please try again.');
        },
      )
      .finally(() => {
        byDefault.disabled = false;
      });
  });

  return {
    element,
    encrypt: () => thisOne.checked,
    setKind: (kind) => {
      element.hidden = kind === 'image';
    },
  };
}
