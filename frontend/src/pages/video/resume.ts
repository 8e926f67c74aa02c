/**
 * Where a viewer was in each video, kept in the browser (`localStorage`), so a reload or a
 * later visit resumes there. Near the start or the end nothing is kept: a video watched to its
 * end starts again from the beginning.
 */

const PREFIX = 'ferrocast:resume:';
/** Positions this close to either end are not worth resuming. */
const MARGIN_SECONDS = 5;

type Store = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function savePosition(store: Store, id: string, seconds: number, duration: number): void {
  try {
    if (!Number.isFinite(seconds) || !Number.isFinite(duration) || duration <= 0) return;
    if (seconds < MARGIN_SECONDS || seconds > duration - MARGIN_SECONDS) {
      store.removeItem(PREFIX + id);
    } else {
      store.setItem(PREFIX + id, String(Math.floor(seconds)));
    }
  } catch {
    // Storage full or refused (private mode): resuming is a convenience.
  }
}

/** The position to resume at in a video of `duration` seconds, or 0. */
export function savedPosition(store: Store, id: string, duration: number): number {
  try {
    const seconds = Number(store.getItem(PREFIX + id));
    if (!Number.isFinite(seconds) || seconds < MARGIN_SECONDS) return 0;
    return Number.isFinite(duration) && seconds > duration - MARGIN_SECONDS ? 0 : seconds;
  } catch {
    return 0;
  }
}
