/**
 * A DASH player for uploaded videos: shaka-player over the catalogue's `.mpd` (the same CMAF
 * segments the HLS playlists name), with ClearKey for encrypted videos and the same test hooks
 * and quality menu as the HLS player. The playback session's token goes in a header through a
 * request filter: on licence requests, and on every request for a private video.
 *
 * shaka-player is large (~700 kB); the video page loads this module with `import()` only when
 * the viewer picks DASH.
 */
import shaka from 'shaka-player';
import { KEY_REFUSED, PLAYBACK_TOKEN_HEADER, type PlayerCallbacks, type PlayerOptions } from './player';
import { AUTO_LEVEL, type LevelInfo } from './quality';

/** The category of shaka-player errors that mean "no key". */
const DRM_CATEGORY = shaka.util.Error.Category.DRM;

export class DashPlayer {
  private instance: shaka.Player | null = null;
  private destroyed = false;
  /** Video heights in menu order (highest first), as `onLevels` announced them. */
  private heights: number[] = [];

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly src: string,
    private readonly callbacks: PlayerCallbacks = {},
    private readonly options: PlayerOptions = {},
  ) {
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    if (options.exposeForTests) {
      const player = this;
      window.__ferrocast = {
        hls: null,
        levels: () => player.heights,
        currentHeight: () => player.video.videoHeight,
      };
    }
  }

  static isSupported(): boolean {
    shaka.polyfill.installAll();
    return shaka.Player.isBrowserSupported();
  }

  start(): void {
    void this.load();
  }

  levels(): LevelInfo[] {
    return this.heights.map((height) => ({ height, bitrate: this.bitrateOf(height) }));
  }

  /** A rendition by menu index (ABR off), or `AUTO_LEVEL` for adaptive again. */
  setLevel(index: number): void {
    const player = this.instance;
    if (!player) return;
    if (index === AUTO_LEVEL) {
      player.configure({ abr: { enabled: true } });
      return;
    }
    const height = this.heights[index];
    const track = player.getVariantTracks().find((t) => t.height === height);
    if (!track) return;
    player.configure({ abr: { enabled: false } });
    player.selectVariantTrack(track, true);
    this.callbacks.onLevelSwitched?.(height ?? 0);
  }

  destroy(): void {
    this.destroyed = true;
    void this.instance?.destroy();
    this.instance = null;
    if (this.options.exposeForTests) delete window.__ferrocast;
  }

  private async load(): Promise<void> {
    const player = new shaka.Player();
    this.instance = player;
    const licence = this.options.clearKeyLicenceUrl;
    if (licence) player.configure({ drm: { servers: { 'org.w3.clearkey': licence } } });
    const token = this.options.playbackToken;
    if (token) {
      const everyRequest = this.options.tokenOnEveryRequest ?? false;
      player.getNetworkingEngine()?.registerRequestFilter((type, request) => {
        if (everyRequest || type === shaka.net.NetworkingEngine.RequestType.LICENSE) request.headers[PLAYBACK_TOKEN_HEADER] = token;
      });
    }
    player.addEventListener('error', (event) => this.fail((event as unknown as { detail: shaka.util.Error }).detail));
    player.addEventListener('adaptation', () => this.callbacks.onLevelSwitched?.(this.video.videoHeight));
    try {
      await player.attach(this.video);
      await player.load(this.src);
    } catch (error) {
      this.fail(error as shaka.util.Error);
      return;
    }
    if (this.destroyed) return;
    const heights = new Set(player.getVariantTracks().map((t) => t.height ?? 0));
    this.heights = [...heights].filter((h) => h > 0).sort((a, b) => b - a);
    this.callbacks.onLevels?.(this.levels());
    this.video.play().catch((error: unknown) => {
      if (error instanceof DOMException && error.name === 'NotAllowedError') this.callbacks.onAutoplayBlocked?.();
    });
  }

  private bitrateOf(height: number): number {
    const track = this.instance?.getVariantTracks().find((t) => t.height === height);
    return track?.bandwidth ?? 0;
  }

  private fail(error: shaka.util.Error | undefined): void {
    if (this.destroyed) return;
    // Shaka rejects load() with LOAD_INTERRUPTED when destroyed meanwhile: not an error.
    if (error?.code === shaka.util.Error.Code.LOAD_INTERRUPTED) return;
    const message =
      error?.category === DRM_CATEGORY ? KEY_REFUSED : `This video cannot be played with DASH here (shaka-player error ${error?.code ?? 'unknown'}).`;
    void this.instance?.destroy();
    this.instance = null;
    this.callbacks.onFatal?.(message);
  }
}
