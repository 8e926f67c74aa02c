/**
 * Keeping a granted session alive, and letting go of it.
 *
 * A session is a lease the server ends when no heartbeat comes for its length; players send one
 * every third of it, so two may be lost before it lapses. The length is the grant's `lease_ms`;
 * a grant recovered from a snapshot has only `expires_at_ms`, read against this device's clock,
 * and a reading outside the server's allowed range (a skewed clock) is taken at that range's
 * nearest end.
 * A heartbeat answered 410 (or an `ended` event for the session) means the session is over:
 * the page stops its player and says why.
 *
 * Letting go: an in-app navigation ends the page's session (or withdraws its waiting request)
 * with a stop (`POST …/stop`); a closing tab cannot wait for an answer, so `pagehide` sends a
 * beacon instead.
 */
import { api } from '../api/endpoints';
import { ApiError } from '../api/error';
import { onLeave } from '../ui/lifecycle';
import type { Granted, PlaybackClient } from './client';

/** `FERROCAST_PLAYBACK_LEASE_SECONDS` is 2–600 s. */
const MIN_LEASE_MS = 2000;
const MAX_LEASE_MS = 600_000;

/**
 * Milliseconds between heartbeats for a lease of `leaseMs` when the grant said, else one that
 * expires at `expiresAtMs`, seen at `now`.
 */
export function heartbeatEvery(expiresAtMs: number, now: number, leaseMs?: number): number {
  const lease = Math.min(Math.max(leaseMs ?? expiresAtMs - now, MIN_LEASE_MS), MAX_LEASE_MS);
  return Math.floor(lease / 3);
}

export interface LeaseOptions {
  /** The session is over: `reason` from its `ended` event, null when only a 410 said so. */
  onEnded(reason: string | null): void;
  now?: () => number;
}

export class Lease {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly unsubscribe: () => void;
  private readonly every: number;

  constructor(
    client: PlaybackClient,
    readonly grant: Granted,
    private readonly options: LeaseOptions,
  ) {
    this.every = heartbeatEvery(grant.expiresAtMs, (options.now ?? Date.now)(), grant.leaseMs);
    this.unsubscribe = client.subscribe((event) => {
      if (event.type === 'ended' && event.session_id === grant.requestId) this.finish(event.reason);
    });
    this.schedule();
  }

  get sessionId(): string {
    return this.grant.requestId;
  }

  get token(): string {
    return this.grant.token;
  }

  /** Stops the heartbeats (the server is told separately, if at all). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribe();
  }

  private schedule(): void {
    if (!this.closed) this.timer = setTimeout(() => void this.beat(), this.every);
  }

  private async beat(): Promise<void> {
    this.timer = null;
    try {
      await api.playbackHeartbeat(this.sessionId);
    } catch (error) {
      // 410: ended elsewhere or lapsed; 404: no such session any more. Anything else (a dropped
      // connection, a restarting replica) is tried again at the next beat, inside the lease.
      if (error instanceof ApiError && (error.status === 410 || error.status === 404)) {
        this.finish(null);
        return;
      }
    }
    this.schedule();
  }

  private finish(reason: string | null): void {
    if (this.closed) return;
    this.close();
    this.options.onEnded(reason);
  }
}

/**
 * Lets go of what `held()` names (a session or a waiting request) when the page goes: a stop
 * when the visitor navigates within the app (`signal`), a beacon when the tab closes or
 * navigates away (`pagehide`).
 */
export function releaseOnLeave(client: PlaybackClient, signal: AbortSignal, held: () => string | null): void {
  const onPageHide = () => {
    const id = held();
    if (id) client.beacon(id);
  };
  window.addEventListener('pagehide', onPageHide);
  onLeave(signal, () => {
    window.removeEventListener('pagehide', onPageHide);
    const id = held();
    if (id) void client.stop(id).catch(() => undefined);
  });
}
