/**
 * Loads the player for a live room on first need.
 *
 * hls.js is ~400 kB, so the player module is fetched with `import()` only when a room is live;
 * this part turns the two ways that can fail (the chunk does not load, the browser cannot play
 * HLS at all) into a message for the viewer.
 */
import type { LivePlayer, PlayerCallbacks, PlayerOptions } from '../../player/player';

/** The player (not started yet), a message why there is none, or null when no longer wanted. */
export type Loaded = { player: LivePlayer } | { error: string } | null;

export async function loadPlayer(
  video: HTMLVideoElement,
  src: string,
  callbacks: PlayerCallbacks,
  stillWanted: () => boolean,
  options: Omit<PlayerOptions, 'exposeForTests'> = {},
): Promise<Loaded> {
  let Player: typeof LivePlayer;
  try {
    Player = (await import('../../player/player')).LivePlayer;
  } catch {
    return { error: 'The video player could not be loaded. Please reload the page.' };
  }
  if (!stillWanted()) return null;
  if (!Player.isSupported(video)) {
    return { error: 'This browser cannot play live video (it has neither Media Source Extensions nor native HLS).' };
  }
  // The watch page's player is the one the e2e suite reads.
  return { player: new Player(video, src, callbacks, { ...options, exposeForTests: true }) };
}
