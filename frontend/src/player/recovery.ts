/**
 * What to do about a fatal hls.js error — a small state machine, kept apart from hls.js so it is
 * unit-tested.
 *
 * - Network errors are expected on a live stream (an ingest restarting, the gateway re-routing
 *   `/hls/{user}` to a new node, a manifest not written yet in the first seconds after
 *   `room_started`): reload after an exponential backoff, forever, but reset once media flows.
 *   Whether the stream still exists is the page's question (it asks the rooms API), not the
 *   player's.
 * - Media errors are usually a decoder hiccup: `recoverMediaError()` once, then once more with
 *   the audio codec swapped (hls.js's documented second step), and only a third error within the
 *   window means the stream cannot be played here.
 * - Anything else (key system, internal errors) is not recoverable.
 */
import { backoffDelay } from '../backoff';

export type FatalErrorKind = 'network' | 'media' | 'other';

export type RecoveryAction =
  | { action: 'reload'; delayMs: number }
  | { action: 'recover-media' }
  | { action: 'swap-audio-and-recover' }
  | { action: 'give-up' };

const MEDIA_WINDOW_MS = 10_000;

export class RecoveryPolicy {
  private networkAttempts = 0;
  private mediaRecoveries: number[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  decide(kind: FatalErrorKind, now: number = Date.now()): RecoveryAction {
    switch (kind) {
      case 'network':
        return {
          action: 'reload',
          delayMs: backoffDelay(this.networkAttempts++, { baseMs: 1000, maxMs: 10_000 }, this.random),
        };
      case 'media': {
        this.mediaRecoveries = this.mediaRecoveries.filter((t) => now - t < MEDIA_WINDOW_MS);
        const recent = this.mediaRecoveries.length;
        this.mediaRecoveries.push(now);
        if (recent === 0) return { action: 'recover-media' };
        if (recent === 1) return { action: 'swap-audio-and-recover' };
        return { action: 'give-up' };
      }
      case 'other':
        return { action: 'give-up' };
    }
  }

  /** Media arrived: the next network error starts again from the shortest delay. */
  progressed(): void {
    this.networkAttempts = 0;
  }
}
