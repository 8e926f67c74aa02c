/**
 * `/devices` — "Your devices": what the account plays now and what waits for a screen, each with
 * "End" (DELETE), so a viewer can free a screen held by a device they left somewhere.
 *
 * The list is `GET /api/playback`, kept live by the account's playback event stream: its
 * `snapshot` (on every connect) replaces the list, and any other event (a grant, a place in
 * line, an end) asks for the list again, since events do not carry every field a row shows.
 * Test ids: `devices-sessions`, `device-session` / `device-queued` (with `data-id`),
 * `device-title`, `device-state`, `device-end`, `devices-empty`, `devices-error`.
 */
import { api } from '../api/endpoints';
import { isAbortError } from '../api/error';
import type { PlaybackList, PlaybackSession, QueuedPlayback } from '../api/types';
import { h, replace, setText } from '../dom';
import { formatStarted } from '../format';
import { PlaybackClient } from '../playback/client';
import { videoPath, navigate } from '../router';
import { currentUser, handleExpiredSession } from '../session';

export function devicesPage(root: HTMLElement, signal: AbortSignal): void {
  document.title = 'Your devices — ferrocast';
  const list = h('ul', { class: 'session-list', 'data-testid': 'devices-sessions', 'aria-label': 'Sessions and waiting requests' });
  const empty = h('p', { class: 'empty-state', 'data-testid': 'devices-empty', hidden: true }, 'Nothing plays on this account right now.');
  const failure = h('p', { class: 'notice notice-error', role: 'alert', 'data-testid': 'devices-error', hidden: true });
  replace(
    root,
    h(
      'section',
      { class: 'page page-narrow page-devices' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', { tabindex: -1 }, 'Your devices'),
        h('p', { class: 'page-sub' }, 'Videos this account plays now, and requests waiting for a free screen. Ending one frees its screen.'),
      ),
      failure,
      list,
      empty,
    ),
  );

  const showFailure = (message: string) => {
    setText(failure, message);
    failure.hidden = false;
  };

  const render = (state: PlaybackList) => {
    const sessions = [...state.sessions].sort((a, b) => a.started_at_ms - b.started_at_ms);
    const queued = [...state.queued].sort((a, b) => a.position - b.position);
    const now = Date.now();
    replace(list, ...sessions.map((s) => sessionRow(s, now)), ...queued.map((q) => queuedRow(q)));
    empty.hidden = sessions.length + queued.length > 0;
  };

  // One list request at a time; events that come meanwhile ask for one more after it.
  let loading = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      do {
        again = false;
        try {
          render(await api.playbackList(signal));
          failure.hidden = true;
        } catch (error) {
          if (isAbortError(error) || handleExpiredSession(error)) return;
          showFailure(`Could not load your devices: ${error instanceof Error ? error.message : 'please try again.'}`);
        }
      } while (again && !signal.aborted);
    } finally {
      loading = false;
    }
  };

  const endButton = (id: string, label: string) => {
    const button = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'device-end', 'aria-label': label }, 'End');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await client?.end(id);
      } catch (error) {
        if (handleExpiredSession(error)) return;
        button.disabled = false;
        showFailure(`Could not end it: ${error instanceof Error ? error.message : 'please try again.'}`);
        return;
      }
      await refresh();
    });
    return button;
  };

  const sessionRow = (session: PlaybackSession, now: number) =>
    row(
      { 'data-testid': 'device-session', 'data-id': session.session_id, 'data-state': 'playing' },
      session.media_id,
      session.title,
      `${session.device || 'Unknown device'} · ${formatStarted(session.started_at_ms, now)}`,
      h('span', { class: 'badge badge-live', 'data-testid': 'device-state' }, 'Playing'),
      endButton(session.session_id, `End: ${session.title} on ${session.device}`),
    );

  const queuedRow = (request: QueuedPlayback) =>
    row(
      { 'data-testid': 'device-queued', 'data-id': request.request_id, 'data-state': 'waiting' },
      request.media_id,
      request.title,
      request.device || 'Unknown device',
      h('span', { class: 'badge badge-offline', 'data-testid': 'device-state' }, `Waiting: number ${request.position}`),
      endButton(request.request_id, `End: ${request.title} waiting on ${request.device}`),
    );

  let client: PlaybackClient | null = null;
  void (async () => {
    const user = await currentUser();
    if (signal.aborted) return;
    if (!user) {
      navigate(`/login?next=${encodeURIComponent('/devices')}`, { replace: true });
      return;
    }
    client = new PlaybackClient(signal);
    client.subscribe((event) => {
      if (event.type === 'snapshot') render(event);
      else void refresh();
    });
    await refresh();
  })();
}

function row(attrs: Record<string, string>, mediaId: string, title: string, hint: string, state: HTMLElement, end: HTMLButtonElement): HTMLElement {
  return h(
    'li',
    { class: 'session-row', ...attrs },
    h(
      'div',
      { class: 'session-body' },
      h('a', { class: 'session-title', href: videoPath(mediaId), 'data-testid': 'device-title' }, title || 'A video'),
      h('span', { class: 'field-hint' }, hint),
    ),
    state,
    end,
  );
}
