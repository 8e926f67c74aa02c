/**
 * A live HLS player on one `<video>`: hls.js with ferrocast's low-latency settings, fatal error
 * recovery, quality selection, and the test hooks the e2e suite reads.
 *
 * This module imports hls.js (~400 kB); pages load it with `import()` so the home page and the
 * forms never download it. The page owns the stream lifecycle (is the room live?); the player
 * only reports what it sees — levels, switches, 404s, the end of the stream — and recovers
 * from what it can.
 */
import Hls, { type ErrorData, type HlsConfig } from 'hls.js';
import { LIVE_HLS_CONFIG, LIVE_HLS_DEFAULTS } from './config';
import { AUTO_LEVEL, type LevelInfo } from './quality';
import { RecoveryPolicy, type FatalErrorKind } from './recovery';

// Defaults, not settings: a playlist's own hold-back must still win (see config.ts).
Hls.DefaultConfig = { ...Hls.DefaultConfig, ...LIVE_HLS_DEFAULTS };

export interface PlayerCallbacks {
  /** The master playlist was read: these are the renditions, in hls.js level order. */
  onLevels?(levels: LevelInfo[]): void;
  /** The picture now comes from this rendition (height in pixels, 0 if unknown). */
  onLevelSwitched?(height: number): void;
  onPlaying?(): void;
  /** Muted autoplay was refused: the page should offer a play button. */
  onAutoplayBlocked?(): void;
  /** A playlist answered 404 — the stream may have ended, or may not have started writing yet. */
  onNotFound?(): void;
  /** A network error; the player reloads after `delayMs`. */
  onRetrying?(delayMs: number): void;
  /** The playlist ended (`#EXT-X-ENDLIST` reached) — the publisher stopped. */
  onEnded?(): void;
  /** Unrecoverable: the player has stopped. */
  onFatal?(message: string): void;
}

export interface PlayerOptions {
  /** Publish `window.__ferrocast` for the e2e tests (the watch page's main player only). */
  exposeForTests?: boolean;
  /**
   * An encrypted video's ClearKey licence URL: hls.js then decrypts through EME, asking this
   * URL (same origin, so the session cookie goes along) for the key.
   */
  clearKeyLicenceUrl?: string;
  /**
   * The playback session's token: sent in the `X-Playback-Token` header with every licence
   * request, never in a URL (URLs end up in logs and caches).
   */
  playbackToken?: string;
  /** Send the token with every playlist and segment request too (a private video's files). */
  tokenOnEveryRequest?: boolean;
}

/** The header that carries a playback session's token. */
export const PLAYBACK_TOKEN_HEADER = 'X-Playback-Token';

/** What the viewer reads when the licence is refused or the key does not decrypt. */
export const KEY_REFUSED = 'This video is encrypted and its key was refused: the playback session may have ended. Reload the page to ask for a new one.';

/** What the Playwright suite reads: the hls.js instance, rendition heights, decoded height. */
export interface FerrocastTestHooks {
  readonly hls: Hls | null;
  levels(): number[];
  currentHeight(): number;
}

declare global {
  interface Window {
    __ferrocast?: FerrocastTestHooks;
  }
}

export class LivePlayer {
  private instance: Hls | null = null;
  private readonly policy = new RecoveryPolicy();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;
  /** The rendition height the viewer picked, re-applied after a reload; null = Auto. */
  private preferredHeight: number | null = null;
  private readonly onVideoEnded = () => this.callbacks.onEnded?.();
  private readonly onVideoPlaying = () => this.callbacks.onPlaying?.();
  private readonly onNativeError = () => this.handleFatal('network', false);

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly src: string,
    private readonly callbacks: PlayerCallbacks = {},
    private readonly options: PlayerOptions = {},
  ) {
    // Browsers allow autoplay only without sound; the page offers "Unmute".
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.addEventListener('ended', this.onVideoEnded);
    video.addEventListener('playing', this.onVideoPlaying);
    if (options.exposeForTests) {
      const player = this;
      window.__ferrocast = {
        get hls() {
          return player.instance;
        },
        levels: () => player.levels().map((l) => l.height),
        currentHeight: () => player.video.videoHeight,
      };
    }
  }

  static isSupported(video: HTMLVideoElement): boolean {
    return Hls.isSupported() || video.canPlayType('application/vnd.apple.mpegurl') !== '';
  }

  get hls(): Hls | null {
    return this.instance;
  }

  start(): void {
    if (this.destroyed) return;
    this.clearRetry();
    if (Hls.isSupported()) this.startHls();
    else this.startNative();
  }

  levels(): LevelInfo[] {
    return (this.instance?.levels ?? []).map((l) => ({ height: l.height, bitrate: l.bitrate }));
  }

  /** Switches rendition now (hls.js flushes the buffer); `AUTO_LEVEL` returns to adaptive. */
  setLevel(index: number): void {
    const hls = this.instance;
    if (!hls) return;
    const level = hls.levels[index];
    this.preferredHeight = index === AUTO_LEVEL || !level ? null : level.height;
    hls.currentLevel = level ? index : AUTO_LEVEL;
  }

  destroy(): void {
    this.destroyed = true;
    this.clearRetry();
    this.instance?.destroy();
    this.instance = null;
    this.video.removeEventListener('ended', this.onVideoEnded);
    this.video.removeEventListener('playing', this.onVideoPlaying);
    this.video.removeEventListener('error', this.onNativeError);
    this.video.removeAttribute('src');
    this.video.load();
    if (this.options.exposeForTests) delete window.__ferrocast;
  }

  private startHls(): void {
    this.instance?.destroy();
    const hls = new Hls(hlsConfig(this.options));
    this.instance = hls;

    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const levels = this.levels();
      this.callbacks.onLevels?.(levels);
      if (this.preferredHeight !== null) {
        const index = levels.findIndex((l) => l.height === this.preferredHeight);
        if (index >= 0) hls.currentLevel = index;
        else this.preferredHeight = null;
      }
      this.play();
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
      this.callbacks.onLevelSwitched?.(hls.levels[data.level]?.height ?? 0);
    });
    hls.on(Hls.Events.FRAG_BUFFERED, () => this.policy.progressed());
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || hls !== this.instance) return;
      if (data.type === Hls.ErrorTypes.KEY_SYSTEM_ERROR) {
        // No key will come by trying again: the licence said no, or the browser has no EME.
        hls.destroy();
        this.instance = null;
        this.video.removeAttribute('src');
        this.video.load();
        this.callbacks.onFatal?.(KEY_REFUSED);
        return;
      }
      this.handleFatal(kindOf(data), isNotFound(data));
    });

    hls.loadSource(this.src);
    hls.attachMedia(this.video);
  }

  /** Safari and iOS play HLS natively (no MSE in iOS Safari): no quality menu there. */
  private startNative(): void {
    this.video.removeEventListener('error', this.onNativeError);
    this.video.addEventListener('error', this.onNativeError);
    this.video.src = this.src;
    this.callbacks.onLevels?.([]);
    this.play();
  }

  private play(): void {
    this.video.play().catch((error: unknown) => {
      // AbortError: the source changed under play(), the next load will play again.
      if (error instanceof DOMException && error.name === 'NotAllowedError') this.callbacks.onAutoplayBlocked?.();
    });
  }

  private handleFatal(kind: FatalErrorKind, notFound: boolean): void {
    if (this.destroyed) return;
    const decision = this.policy.decide(kind);
    switch (decision.action) {
      case 'reload':
        if (notFound) this.callbacks.onNotFound?.();
        this.callbacks.onRetrying?.(decision.delayMs);
        this.clearRetry();
        this.retryTimer = setTimeout(() => this.start(), decision.delayMs);
        return;
      case 'recover-media':
        this.instance?.recoverMediaError();
        return;
      case 'swap-audio-and-recover':
        this.instance?.swapAudioCodec();
        this.instance?.recoverMediaError();
        return;
      case 'give-up':
        this.instance?.destroy();
        this.instance = null;
        this.callbacks.onFatal?.('This stream cannot be played in this browser.');
        return;
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/**
 * hls.js settings for these options: EME for an encrypted video, the session's token on the
 * licence request and, for a private video, on every playlist and segment request. hls.js calls
 * the setup functions before opening the request, so they open it to set the header.
 */
export function hlsConfig(options: PlayerOptions): Partial<HlsConfig> {
  const config: Partial<HlsConfig> = { ...LIVE_HLS_CONFIG };
  const { clearKeyLicenceUrl: licenceUrl, playbackToken: token } = options;
  if (licenceUrl) {
    config.emeEnabled = true;
    config.drmSystems = { 'org.w3.clearkey': { licenseUrl: licenceUrl } };
    if (token) {
      config.licenseXhrSetup = (xhr, url) => {
        xhr.open('POST', url, true);
        xhr.setRequestHeader(PLAYBACK_TOKEN_HEADER, token);
      };
    }
  }
  if (token && options.tokenOnEveryRequest) {
    config.xhrSetup = (xhr, url) => {
      xhr.open('GET', url, true);
      xhr.setRequestHeader(PLAYBACK_TOKEN_HEADER, token);
    };
  }
  return config;
}

function kindOf(data: ErrorData): FatalErrorKind {
  if (data.type === Hls.ErrorTypes.NETWORK_ERROR) return 'network';
  if (data.type === Hls.ErrorTypes.MEDIA_ERROR) return 'media';
  return 'other';
}

function isNotFound(data: ErrorData): boolean {
  return data.response?.code === 404;
}
