/**
 * The viewer's own controls: Unmute/Mute, the Play button offered when autoplay is refused, and
 * Fullscreen. They act on the `<video>` and the player box only, whatever the stream's state.
 */
import { setText } from '../../dom';

export interface ControlElements {
  readonly video: HTMLVideoElement;
  readonly playerBox: HTMLElement;
  readonly unmute: HTMLButtonElement;
  readonly playButton: HTMLButtonElement;
  readonly fullscreen: HTMLButtonElement;
}

export function wireControls({ video, playerBox, unmute, playButton, fullscreen }: ControlElements): void {
  // Browsers autoplay only muted; the label follows the video, whoever changed it.
  const syncMute = () => setText(unmute, video.muted || video.volume === 0 ? 'Unmute' : 'Mute');
  unmute.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 1;
  });
  video.addEventListener('volumechange', syncMute);

  playButton.addEventListener('click', () => {
    video.play().then(
      () => {
        playButton.hidden = true;
      },
      () => undefined,
    );
  });

  fullscreen.hidden = !document.fullscreenEnabled;
  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void playerBox.requestFullscreen().catch(() => undefined);
  });
}
