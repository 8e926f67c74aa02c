/** The quality menu keeps the viewer's pick while it exists and is disabled with nothing to choose. */
import { describe, expect, it } from 'vitest';
import { h } from '../../dom';
import { qualityMenu } from './quality-menu';

const LEVELS = [
  { height: 360, bitrate: 800_000 },
  { height: 720, bitrate: 2_800_000 },
];

function setup() {
  const select = h('select', {});
  const playing = h('span', {});
  const picks: [number, string][] = [];
  const menu = qualityMenu(select, playing, (level, label) => picks.push([level, label]));
  return { select, playing, picks, menu };
}

describe('qualityMenu', () => {
  it('lists Auto and the renditions, and reports a pick with its label', () => {
    const { select, picks, menu } = setup();
    menu.render(LEVELS);
    expect([...select.options].map((o) => o.textContent)).toEqual(['Auto', '720p', '360p']);
    expect(select.value).toBe('-1');
    expect(select.disabled).toBe(false);
    select.value = '0';
    select.dispatchEvent(new Event('change'));
    expect(picks).toEqual([[0, '360p']]);
  });

  it('keeps the pick across a re-render while the rendition exists, else falls back to Auto', () => {
    const { select, menu } = setup();
    menu.render(LEVELS);
    select.value = '1';
    menu.render(LEVELS);
    expect(select.value).toBe('1');
    menu.render([LEVELS[0]!]);
    expect(select.value).toBe('-1');
  });

  it('is disabled with one rendition or none, and clears the playing label when the stream goes', () => {
    const { select, playing, menu } = setup();
    menu.render([LEVELS[0]!]);
    expect(select.disabled).toBe(true);
    menu.switched(360);
    expect(playing.textContent).toBe('Playing 360p');
    menu.switched(0);
    expect(playing.textContent).toBe('');
    menu.switched(720);
    menu.render([]);
    expect(playing.textContent).toBe('');
    expect(select.disabled).toBe(true);
  });
});
