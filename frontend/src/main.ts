/**
 * Entry point: mounts the page frame and renders the page for each route.
 *
 * Every route change aborts the previous page's `AbortSignal`, which stops its requests,
 * timers, event subscriptions and player (see ui/lifecycle.ts), then moves keyboard and
 * screen-reader focus to the new page's heading so the change is announced like a page load.
 */
import './styles.css';
import { channelPage } from './pages/channel';
import { dashboardPage } from './pages/dashboard';
import { devicesPage } from './pages/devices';
import { loginPage, signupPage } from './pages/auth';
import { homePage } from './pages/home';
import { libraryPage } from './pages/library';
import { myMediaPage } from './pages/my-media';
import { notFoundPage } from './pages/not-found';
import { uploadPage } from './pages/upload';
import { videoPage } from './pages/video';
import { watchPage } from './pages/watch';
import { startRouter, type Route } from './router';
import { mountLayout } from './ui/layout';

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');

const layout = mountLayout(root);
let page: AbortController | null = null;
let firstRender = true;

function show(route: Route): void {
  page?.abort();
  page = new AbortController();
  const { signal } = page;
  const main = layout.main;
  main.replaceChildren();
  switch (route.name) {
    case 'home':
      homePage(main, signal);
      break;
    case 'watch':
      watchPage(main, signal, route.username);
      break;
    case 'channel':
      channelPage(main, signal, route.username);
      break;
    case 'login':
      loginPage(main, signal, route.next);
      break;
    case 'signup':
      signupPage(main, signal);
      break;
    case 'dashboard':
      dashboardPage(main, signal);
      break;
    case 'upload':
      uploadPage(main, signal);
      break;
    case 'my_media':
      myMediaPage(main, signal);
      break;
    case 'library':
      libraryPage(main, signal, { q: route.q, tags: route.tags });
      break;
    case 'video':
      videoPage(main, signal, route.id, route.player);
      break;
    case 'devices':
      devicesPage(main, signal);
      break;
    case 'not_found':
      notFoundPage(main);
      break;
  }
  layout.setActive(location.pathname);
  // On the first load the browser already starts at the top; afterwards, take focus to the
  // new heading as a real navigation would.
  if (!firstRender) {
    window.scrollTo(0, 0);
    main.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }
  firstRender = false;
}

startRouter(show);
