/**
 * The upload's progress panel: what is happening (a polite live region, announced only when the
 * step changes, not on every byte), a `<progress>` bar, bytes done of total, and the speed.
 * `describe` is the pure wording, unit-tested.
 */
import { h, setText } from '../../dom';
import { formatProgress, formatSpeed } from '../../format';
import { TRIES, type UploadState } from '../../upload/uploader';

export interface Described {
  /** The step, for the live region (changes rarely). */
  step: string;
  done: number;
  total: number;
  /** Bytes and percentage. */
  amount: string;
  speed: string;
  /** A retry in progress, or empty. */
  notice: string;
}

export function describe(state: UploadState): Described {
  switch (state.phase) {
    case 'hashing':
      return {
        step: 'Checking the file…',
        done: state.done,
        total: state.total,
        amount: formatProgress(state.done, state.total),
        speed: '',
        notice: '',
      };
    case 'creating':
      return { step: 'Preparing the upload…', done: 0, total: 0, amount: '', speed: '', notice: '' };
    case 'uploading':
      return {
        step: state.part ? `Uploading part ${state.part.number} of ${state.part.count}…` : 'Uploading…',
        done: state.done,
        total: state.total,
        amount: formatProgress(state.done, state.total),
        speed: formatSpeed(state.bytesPerSecond),
        notice: state.retry
          ? `${state.retry.message} Trying again in ${Math.max(1, Math.round(state.retry.delayMs / 1000))} s (try ${state.retry.attempt + 1} of ${TRIES}).`
          : '',
      };
    case 'finalizing':
      return {
        step: 'Checking the upload…',
        done: state.total,
        total: state.total,
        amount: formatProgress(state.total, state.total),
        speed: '',
        notice: '',
      };
  }
}

export interface ProgressPanel {
  element: HTMLElement;
  show(state: UploadState): void;
  /** The upload is done: the bar stays full, with the size that was sent. */
  complete(total: number): void;
}

export function progressPanel(): ProgressPanel {
  const step = h('p', { class: 'upload-step', role: 'status', 'aria-live': 'polite', 'data-testid': 'upload-step' });
  const bar = h('progress', { class: 'upload-bar', max: 1, value: 0, 'aria-label': 'Upload progress', 'data-testid': 'upload-progress' });
  const amount = h('span', { 'data-testid': 'upload-bytes' });
  const speed = h('span', { class: 'upload-speed', 'data-testid': 'upload-speed' });
  const notice = h('p', { class: 'notice notice-warn', 'data-testid': 'upload-retry', hidden: true });
  const element = h(
    'div',
    { class: 'upload-progress', 'data-testid': 'upload-panel' },
    step,
    bar,
    h('p', { class: 'upload-numbers' }, amount, speed),
    notice,
  );
  return {
    element,
    show(state) {
      const text = describe(state);
      setText(step, text.step);
      if (text.total > 0) {
        bar.max = text.total;
        bar.value = Math.min(text.done, text.total);
      } else {
        // An indeterminate bar while nothing can be counted.
        bar.removeAttribute('value');
      }
      setText(amount, text.amount);
      setText(speed, text.speed);
      setText(notice, text.notice);
      notice.hidden = !text.notice;
    },
    complete(total) {
      this.show({ phase: 'finalizing', total });
      setText(step, 'Upload complete.');
    },
  };
}
