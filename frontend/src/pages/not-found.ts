/** Any path the router does not know (the gateway sends every unknown path to the app). */
import { h, replace } from '../dom';

export function notFoundPage(root: HTMLElement): void {
  document.title = 'Not found — ferrocast';
  replace(
    root,
    h(
      'section',
      { class: 'page page-narrow', 'data-testid': 'not-found' },
      h('h1', { tabindex: -1 }, 'Page not found'),
      h('p', {}, 'There is nothing at this address. ', h('a', { href: '/' }, 'See who is live now'), '.'),
    ),
  );
}
