/** Unmute/Mute follows the video, and Play hides itself once playback starts. */
import { describe, expect, it, vi } from 'vitest';
import { h } from '../../dom';
import { wireControls } from './controls';

function setup() {
  const els = {
    video: h('video', {}),
    playerBox: h('div', {}),
    unmute: h('button', {}, 'Unmute'),
    playButton: h('button', {}, 'Play'),
    fullscreen: h('button', {}, 'Fullscreen'),
  };
  wireControls(els);
  return els;
}

describe('watch controls', () => {
  it('unmutes and mutes, restoring a zero volume, with the label following the video', () => {
    const { video, unmute } = setup();
    video.muted = true;
    video.volume = 0;
    unmute.click();
    expect(video.muted).toBe(false);
    expect(video.volume).toBe(1);
    video.dispatchEvent(new Event('volumechange'));
    expect(unmute.textContent).toBe('Mute');
    unmute.click();
    expect(video.muted).toBe(true);
    video.dispatchEvent(new Event('volumechange'));
    expect(unmute.textContent).toBe('Unmute');
  });

  it('hides Play once the video plays, and keeps it when playing is refused', async () => {
    const { video, playButton } = setup();
    playButton.hidden = false;
    const play = vi.spyOn(video, 'play').mockRejectedValueOnce(new Error('NotAllowedError'));
    playButton.click();
    await Promise.resolve();
    await Promise.resolve();
    expect(playButton.hidden).toBe(false);
    play.mockResolvedValueOnce(undefined);
    playButton.click();
    await vi.waitFor(() => expect(playButton.hidden).toBe(true));
  });
});
