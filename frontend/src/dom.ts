/**
 * A tiny element builder in place of a UI framework.
 *
 * `h('button', { class: 'btn', 'data-testid': 'save', onclick: save }, 'Save')` — attributes are
 * set with `setAttribute` (so `aria-*` and `data-*` work as written), `on…` functions become
 * event listeners, and text children become text nodes: content is never parsed as HTML, so
 * usernames and titles from the API cannot inject markup.
 */

export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
export type Props = Record<string, AttrValue | ((event: never) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Sets text only when it changed, so aria-live regions do not re-announce identical text. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
