/**
 * The page frame: skip link, header with navigation and the log-in state, and the `<main>` that
 * the router fills.
 *
 * The header follows the session (session.ts), so logging in or out anywhere updates it without
 * a reload; links marked `aria-current="page"` show where the visitor is.
 */
import type { User } from '../api/types';
import { h, replace } from '../dom';
import { navigate } from '../router';
import { currentUser, logout, onUserChange } from '../session';

export interface Layout {
  main: HTMLElement;
  /** Marks the nav link of the current path. */
  setActive(pathname: string): void;
}

export function mountLayout(root: HTMLElement): Layout {
  const main = h('main', { id: 'main', class: 'site-main', tabindex: -1 });
  const userNav = h('ul', { class: 'nav-list nav-user' });
  const nav = h(
    'nav',
    { class: 'site-nav', 'aria-label': 'Main' },
    h(
      'ul',
      { class: 'nav-list' },
      h('li', {}, h('a', { href: '/', 'data-nav': '/' }, 'Live now')),
      h('li', {}, h('a', { href: '/library', 'data-nav': '/library', 'data-testid': 'nav-library' }, 'Library')),
    ),
    userNav,
  );
  const header = h(
    'header',
    { class: 'site-header' },
    h('a', { class: 'brand', href: '/', 'aria-label': 'ferrocast home' }, h('span', { class: 'brand-dot', 'aria-hidden': 'true' }), 'ferrocast'),
    nav,
  );
  root.replaceChildren(h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'), header, main);

  // The skip link targets #main; keep it an in-page jump instead of a route change.
  root.querySelector('.skip-link')?.addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });

  let activePath = location.pathname;
  const setActive = (pathname: string) => {
    activePath = pathname;
    for (const a of root.querySelectorAll<HTMLAnchorElement>('a[data-nav]')) {
      if (a.dataset.nav === pathname) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  };

  const renderUser = (user: User | null) => {
    if (user) {
      const logoutButton = h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'logout' }, 'Log out');
      logoutButton.addEventListener('click', async () => {
        logoutButton.disabled = true;
        try {
          await logout();
        } catch {
          // The cookie may already be gone; the session is cleared locally either way.
        }
        navigate('/');
      });
      replace(
        userNav,
        h('li', {}, h('a', { href: '/upload', 'data-nav': '/upload', 'data-testid': 'nav-upload' }, 'Upload')),
        h('li', {}, h('a', { href: '/media', 'data-nav': '/media', 'data-testid': 'nav-media' }, 'My media')),
        h('li', {}, h('a', { href: '/devices', 'data-nav': '/devices', 'data-testid': 'nav-devices' }, 'Your devices')),
        h('li', {}, h('a', { href: '/dashboard', 'data-nav': '/dashboard', 'data-testid': 'nav-dashboard' }, 'Dashboard')),
        h('li', { class: 'nav-username', 'data-testid': 'nav-username' }, user.username),
        h('li', {}, logoutButton),
      );
    } else {
      replace(
        userNav,
        h('li', {}, h('a', { href: '/login', 'data-nav': '/login', 'data-testid': 'nav-login' }, 'Log in')),
        h('li', {}, h('a', { href: '/signup', 'data-nav': '/signup', class: 'btn btn-primary', 'data-testid': 'nav-signup' }, 'Sign up')),
      );
    }
    setActive(activePath);
  };
  // Nothing is shown for the account until the server has said who this is, so a logged-in
  // visitor never sees a flash of "Log in".
  onUserChange(renderUser);
  void currentUser().then(renderUser);

  return { main, setActive };
}
