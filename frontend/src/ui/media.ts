/**
 * Pieces both catalogue pages show for an item: the thumbnail slot (a placeholder by kind until
 * processing makes thumbnails) and the item's tags, as plain chips or as buttons that filter.
 */
import type { Media } from '../api/types';
import { h } from '../dom';

export function mediaThumb(item: Media): HTMLElement {
  const el = h(
    'div',
    { class: `thumb media-thumb media-thumb-${item.kind}`, 'aria-hidden': 'true' },
    h('span', { class: 'media-kind' }, item.kind === 'video' ? '▶' : '▣'),
  );
  // A stable hue per item, so a grid of placeholders is not one flat block.
  let hash = 0;
  for (const ch of item.id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  el.style.setProperty('--hue', String(hash % 360));
  return el;
}

/** The tags of an item; with `onTag`, each is a button (pressed when in `selected`). */
export function tagList(
  tags: readonly string[],
  options: { onTag?: (tag: string) => void; selected?: readonly string[]; label?: string } = {},
): HTMLElement {
  const { onTag, selected = [] } = options;
  return h(
    'ul',
    { class: 'chips chips-static', 'aria-label': options.label ?? 'Tags', 'data-testid': 'item-tags' },
    ...tags.map((tag) =>
      h(
        'li',
        {},
        onTag
          ? h(
              'button',
              {
                type: 'button',
                class: 'chip chip-button',
                'aria-pressed': selected.includes(tag) ? 'true' : 'false',
                'data-tag': tag,
                onclick: () => onTag(tag),
              },
              tag,
            )
          : h('span', { class: 'chip', 'data-tag': tag }, tag),
      ),
    ),
  );
}
