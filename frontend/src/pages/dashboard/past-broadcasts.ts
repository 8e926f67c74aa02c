/**
 * The "save past broadcasts" choice (`save_past_broadcasts` of `GET`/`PUT /api/media/settings`,
 * on unless the streamer opts out), saved as soon as it changes, and what became of the newest
 * recording (`GET /api/media/recordings`): registered as a video, refused as one and why (over
 * the storage quota, larger than an upload may be; the recording waits on the server for an
 * operator), or stopped early and why (its longest length or disk budget; the stream itself
 * went on).
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import { h, setText } from '../../dom';
import { handleExpiredSession } from '../../session';

export function pastBroadcastsPanel(signal: AbortSignal): HTMLElement {
  const keep = h('input', { type: 'checkbox', id: 'field-past-broadcasts', name: 'save_past_broadcasts', 'data-testid': 'save-past-broadcasts', disabled: true }) as HTMLInputElement;
  const status = h('p', { class: 'panel-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'past-broadcasts-status' });
  const latest = h('p', { class: 'panel-status', 'data-testid': 'latest-recording' });

  const say = (text: string) => setText(status, text);

  void api.mediaSettings(signal).then(
    (settings) => {
      keep.checked = settings.save_past_broadcasts;
      keep.disabled = false;
    },
    (error: unknown) => {
      if (isAbortError(error) || handleExpiredSession(error)) return;
      say('Your choice could not be loaded.');
    },
  );

  void api.recordings(signal).then(
    (list) => {
      const newest = list.recordings[0];
      if (!newest) return;
      if (newest.refused_reason) {
        setText(latest, `Your last broadcast could not be saved as a video: ${newest.refused_reason}. The recording is kept on the server for an operator.`);
      } else if (newest.stopped_reason) {
        setText(latest, `Your last recording stopped early: ${newest.stopped_reason}.`);
      } else if (newest.media_id) {
        latest.replaceChildren('Your last broadcast was saved: ', h('a', { href: `/videos/${encodeURIComponent(newest.media_id)}` }, 'watch it'), '.');
      }
    },
    () => undefined,
  );

  keep.addEventListener('change', () => {
    const wanted = keep.checked;
    keep.disabled = true;
    say('');
    api
      .saveMediaSettings({ save_past_broadcasts: wanted }, signal)
      .then(
        () => say(wanted ? 'Your broadcasts will be saved as videos.' : 'Your broadcasts will not be saved.'),
        (error: unknown) => {
          if (isAbortError(error)) return;
          keep.checked = !wanted;
          say(error instanceof ApiError ? error.message : 'Not saved; please try again.');
        },
      )
      .finally(() => {
        keep.disabled = false;
      });
  });

  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'past-broadcasts-heading', 'data-testid': 'past-broadcasts-panel' },
    h('h2', { id: 'past-broadcasts-heading' }, 'Past broadcasts'),
    h('div', { class: 'field field-checks' }, h('label', { for: 'field-past-broadcasts', class: 'check' }, keep, ' Save my broadcasts as videos')),
    h('p', { class: 'field-hint' }, 'When a stream ends it becomes a video on your channel, tagged past-broadcast. Streams shorter than 10 seconds are not kept.'),
    status,
    latest,
  );
}
