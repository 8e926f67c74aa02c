/**
 * The watch page's states and what each one shows, as data.
 *
 * Pure, so the rules are unit-tested without a page: which overlay is up, what the ended card
 * and the screen-reader status say, what a 404 from the rooms API means in each state, and what
 * the periodic tick does.
 */

export type WatchState = 'loading' | 'live' | 'offline' | 'ended' | 'error';

/** What the page shows in a state; an absent text leaves that element as it was. */
export interface Presentation {
  spinner: boolean;
  endedCard: boolean;
  error: boolean;
  /** LIVE badge, viewer count and time live. */
  liveInfo: boolean;
  /** Only hidden, never shown: the player shows it when autoplay is refused. */
  hidePlayButton: boolean;
  /** The player box is greyed out (offline, ended, error). */
  dimmed: boolean;
  /** The quality menu goes back to "Auto" alone: no stream, no renditions. */
  clearQuality: boolean;
  endedHeading?: string;
  endedText?: string;
  errorText?: string;
  /** For the `aria-live` status line. */
  announce?: string;
}

/** The spinner shows while loading, and while live until frames play. */
export function spinnerShown(state: WatchState, playing: boolean): boolean {
  return state === 'loading' || (state === 'live' && !playing);
}

export function present(state: WatchState, username: string, playing: boolean, message = ''): Presentation {
  const live = state === 'live';
  const gone = state === 'offline' || state === 'ended';
  const p: Presentation = {
    spinner: spinnerShown(state, playing),
    endedCard: gone,
    error: state === 'error',
    liveInfo: live,
    hidePlayButton: !live,
    dimmed: !live && state !== 'loading',
    clearQuality: gone,
  };
  if (gone) {
    const ended = state === 'ended';
    p.endedHeading = ended ? 'Stream ended' : 'Offline';
    p.endedText = `${username} is ${ended ? 'no longer live' : 'not live right now'}. This page will start playing as soon as they go live again.`;
    p.announce = ended ? `${username}'s stream ended.` : `${username} is offline.`;
  } else if (state === 'error') {
    p.errorText = message;
    p.announce = message;
  } else if (live) {
    p.announce = `${username} is live.`;
  }
  return p;
}

/**
 * The rooms API answered 404: a stream that was live (or already ended) has ended, one never
 * seen live is offline, and an offline page stays as it is.
 */
export function afterRoomGone(state: WatchState): 'ended' | 'offline' | null {
  if (state === 'live' || state === 'ended') return 'ended';
  return state === 'offline' ? null : 'offline';
}

/**
 * Every 10 s: live pages send the heartbeat (its 404 triggers a room check), other pages ask
 * the rooms API in case the event stream is down. A player error stays on screen until a new
 * session starts.
 */
export function tickAction(state: WatchState): 'heartbeat' | 'check' | null {
  if (state === 'live') return 'heartbeat';
  return state === 'error' ? null : 'check';
}
