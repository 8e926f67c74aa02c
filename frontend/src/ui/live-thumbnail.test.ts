/** A live room's thumbnail: cache-busting URLs, the placeholder until a picture loads, stale kept on failure. */
import { describe, expect, it } from 'vitest';
import { liveThumbnail, stampedUrl } from './live-thumbnail';

const placeholder = () => {
  const el = document.createElement('div');
  el.className = 'placeholder';
  return el;
};

/** The picture being loaded (jsdom loads nothing: tests fire its events). */
const loading: HTMLImageElement[] = [];
function track(): void {
  const real = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src')!;
  Object.defineProperty(HTMLImageElement.prototype, 'src', {
    configurable: true,
    get: real.get,
    set(this: HTMLImageElement, value: string) {
      real.set!.call(this, value);
      loading.push(this);
    },
  });
}
track();

describe('stampedUrl', () => {
  it('adds a stamp and keeps an existing query', () => {
    expect(stampedUrl('/hls/bob/thumbnail.jpg', 42)).toBe('/hls/bob/thumbnail.jpg?t=42');
    expect(stampedUrl('/hls/bob/thumbnail.jpg?x=1', 7)).toBe('/hls/bob/thumbnail.jpg?x=1&t=7');
    expect(stampedUrl('/hls/bob/thumbnail.jpg?t=1', 2)).toBe('/hls/bob/thumbnail.jpg?t=2');
  });
});

describe('liveThumbnail', () => {
  it('shows the placeholder until the picture loaded, then the picture', () => {
    let now = 1;
    const thumb = liveThumbnail(placeholder, () => now);
    expect(thumb.element.querySelector('.placeholder')).not.toBeNull();
    thumb.set('/hls/bob/thumbnail.jpg');
    const img = loading.at(-1)!;
    expect(img.getAttribute('src')).toBe('/hls/bob/thumbnail.jpg?t=1');
    expect(thumb.element.querySelector('img')).toBeNull();
    img.dispatchEvent(new Event('load'));
    expect(thumb.element.querySelector('img')).toBe(img);

    // A refresh asks again past the cache and swaps only once the new picture is there.
    now = 2;
    thumb.refresh();
    const next = loading.at(-1)!;
    expect(next.getAttribute('src')).toBe('/hls/bob/thumbnail.jpg?t=2');
    expect(thumb.element.querySelector('img')).toBe(img);
    next.dispatchEvent(new Event('load'));
    expect(thumb.element.querySelector('img')).toBe(next);
  });

  it('keeps the picture it has when a refresh fails, and the placeholder when the first fails', () => {
    const thumb = liveThumbnail(placeholder);
    thumb.set('/hls/bob/thumbnail.jpg');
    loading.at(-1)!.dispatchEvent(new Event('error'));
    expect(thumb.element.querySelector('.placeholder')).not.toBeNull();

    thumb.refresh();
    const good = loading.at(-1)!;
    good.dispatchEvent(new Event('load'));
    thumb.refresh();
    loading.at(-1)!.dispatchEvent(new Event('error'));
    expect(thumb.element.querySelector('img')).toBe(good);
  });

  it('goes back to the placeholder when the room has no thumbnail, ignoring a late picture', () => {
    const thumb = liveThumbnail(placeholder);
    thumb.set('/hls/bob/thumbnail.jpg');
    const late = loading.at(-1)!;
    thumb.set(null);
    late.dispatchEvent(new Event('load'));
    expect(thumb.element.querySelector('img')).toBeNull();
    expect(thumb.element.querySelector('.placeholder')).not.toBeNull();
    thumb.refresh();
    expect(loading.at(-1)).toBe(late);
  });
});
