/**
 * `/dashboard` — everything a streamer needs to go live: live status with a preview, the stream
 * key, OBS settings, the room title and whether broadcasts are saved as videos. Visitors who are not logged in are sent to `/login`,
 * which brings them back here afterwards.
 */
import { h, replace, setText } from '../../dom';
import { navigate } from '../../router';
import { currentUser } from '../../session';
import { liveStatusPanel } from './live-status';
import { obsPanel } from './obs';
import { pastBroadcastsPanel } from './past-broadcasts';
import { streamKeyPanel } from './stream-key';
import { titlePanel } from './title';

export function dashboardPage(root: HTMLElement, signal: AbortSignal): void {
  document.title = 'Dashboard — ferrocast';
  // The heading stays in place while the panels load below it, so the focus the router gives
  // it on navigation is not lost when they arrive.
  const sub = h('p', { class: 'page-sub' }, 'Loading…');
  const content = h('div', { class: 'dashboard-grid' });
  replace(
    root,
    h('section', { class: 'page page-dashboard' }, h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Dashboard'), sub), content),
  );

  void currentUser().then((user) => {
    if (signal.aborted) return;
    if (!user) {
      navigate('/login?next=%2Fdashboard', { replace: true });
      return;
    }
    setText(sub, `Signed in as ${user.username}`);
    const title = titlePanel(signal);
    const live = liveStatusPanel(signal, user.username, (room) => {
      if (room) title.showCurrent(room.title);
    });
    replace(content, live, streamKeyPanel(signal), obsPanel(), title.element, pastBroadcastsPanel(signal));
  });
}
