/**
 * The quality `<select>` and the "Playing 720p" label beside it.
 *
 * The entries come from the pure `qualityEntries`; this part keeps the viewer's pick across a
 * re-render when that rendition still exists, disables the menu when there is nothing to choose,
 * and reports a pick to the page, which passes it to the player.
 */
import { h, setText } from '../../dom';
import { AUTO_LEVEL, qualityEntries, type LevelInfo } from '../../player/quality';

export interface QualityMenu {
  /** The stream's levels, in hls.js order; `[]` when there is no stream. */
  render(levels: LevelInfo[]): void;
  /** The rendition now playing (height in pixels, 0 if unknown). */
  switched(height: number): void;
}

export function qualityMenu(
  select: HTMLSelectElement,
  playing: HTMLElement,
  onPick: (level: number, label: string) => void,
): QualityMenu {
  select.addEventListener('change', () => {
    onPick(Number(select.value), select.selectedOptions[0]?.textContent ?? 'Auto');
  });
  return {
    render(levels) {
      const entries = qualityEntries(levels);
      const selected = select.value;
      select.replaceChildren(...entries.map((e) => h('option', { value: e.value }, e.label)));
      select.value = entries.some((e) => String(e.value) === selected) ? selected : String(AUTO_LEVEL);
      // One rendition (or native HLS): nothing to choose.
      select.disabled = entries.length <= 2;
      if (!levels.length) setText(playing, '');
    },
    switched(height) {
      setText(playing, height ? `Playing ${height}p` : '');
    },
  };
}
