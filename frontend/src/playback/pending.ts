/**
 * This tab's playback requests between the POST and their decision, matched by request id.
 *
 * Decisions are pushed to every event stream of the account, and may come before the POST's 202
 * says which id is ours: decisions for ids not (yet) ours are kept, a bounded number, and handed
 * over when the 202 names one. A stream that drops loses what was pushed meanwhile; the
 * `snapshot` of the next connection (or the REST list) says where each request stands: among the
 * sessions (with its token) it was granted, among the waiting it is queued, and in neither —
 * when the list was taken after the 202 — its decision was a refusal this tab missed, or the
 * request was withdrawn: it is `lost`, and the client asks again.
 *
 * "After" needs one clock for connects, answers and list requests: `tick()` is it (a counter,
 * not time, so it cannot go backwards). Pure; the client does the I/O.
 */
import type { PlaybackList, PlaybackSession } from '../api/types';
import type { PlaybackEvent } from './events';

export type Decision =
  | { kind: 'granted'; requestId: string; mediaId: string; expiresAtMs: number; leaseMs?: number; token: string }
  | { kind: 'denied'; requestId: string; reason: string; active: PlaybackSession[] }
  | { kind: 'queued'; requestId: string; position: number }
  /** A waiting request was withdrawn (from another device) before it got a slot. */
  | { kind: 'ended'; requestId: string; reason: string }
  /** Nothing is known of it any more: its decision was missed while the stream was down. */
  | { kind: 'lost'; requestId: string };

export interface Outcome {
  /** Decisions about this tab's requests, in order. */
  decisions: Decision[];
  /** Sessions granted to requests this tab gave up on: to be ended at once, so they hold no slot. */
  release: string[];
}

const NOTHING: Outcome = { decisions: [], release: [] };

/** Whether a decision settles its request (everything but a place in line). */
export function isFinal(decision: Decision): boolean {
  return decision.kind !== 'queued';
}

export class PendingRequests {
  private clock = 0;
  /** Requests answered 202 and not settled, with the tick of the answer. */
  private readonly waiting = new Map<string, number>();
  /** Decisions about ids that were not ours when they came, oldest first. */
  private readonly early = new Map<string, Decision>();
  /** Requests this tab gave up on (oldest first), whose grant must be released. */
  private readonly abandoned = new Set<string>();

  /** `limit`: decisions kept for ids not known yet, and given-up ids remembered. */
  constructor(private readonly limit = 64) {}

  /** The next point on this tab's clock (before a connect, a list request, or at an answer). */
  tick(): number {
    this.clock += 1;
    return this.clock;
  }

  /** Whether the request is ours and not settled. */
  has(requestId: string): boolean {
    return this.waiting.has(requestId);
  }

  /** The POST's 202 named `requestId`: ours from now on. Returns what was already decided. */
  answered(requestId: string): Decision[] {
    this.waiting.set(requestId, this.tick());
    const known = this.early.get(requestId);
    this.early.delete(requestId);
    if (!known) return [];
    if (isFinal(known)) this.waiting.delete(requestId);
    return [known];
  }

  /** This tab no longer wants the request (the viewer cancelled, or the client asked anew). */
  abandon(requestId: string): void {
    this.waiting.delete(requestId);
    this.early.delete(requestId);
    remember(this.abandoned, requestId, this.limit);
  }

  /** An event of a stream whose connection began at tick `connectedAt`. */
  event(event: PlaybackEvent, connectedAt: number): Outcome {
    switch (event.type) {
      case 'snapshot':
        return this.resync(event, connectedAt);
      case 'granted':
        return this.decide({
          kind: 'granted',
          requestId: event.request_id,
          mediaId: event.media_id,
          expiresAtMs: event.expires_at_ms,
          ...(event.lease_ms ? { leaseMs: event.lease_ms } : {}),
          token: event.token,
        });
      case 'denied':
        return this.decide({ kind: 'denied', requestId: event.request_id, reason: event.reason, active: event.active });
      case 'queued':
        return this.decide({ kind: 'queued', requestId: event.request_id, position: event.position });
      case 'ended':
        // Only a waiting request is settled by it; the end of a granted session is the lease's.
        if (!this.waiting.has(event.session_id)) return NOTHING;
        return this.decide({ kind: 'ended', requestId: event.session_id, reason: event.reason });
    }
  }

  /**
   * Where each request stands by `list`, taken at tick `takenAt` (a snapshot: its connection's
   * start; the REST list: its request's). Absence counts only for requests answered before.
   */
  resync(list: PlaybackList, takenAt: number): Outcome {
    const decisions: Decision[] = [];
    for (const [requestId, answeredAt] of [...this.waiting]) {
      const session = list.sessions.find((s) => s.session_id === requestId);
      const queued = list.queued.find((q) => q.request_id === requestId);
      if (session?.token) {
        this.waiting.delete(requestId);
        decisions.push({
          kind: 'granted',
          requestId,
          mediaId: session.media_id,
          expiresAtMs: session.expires_at_ms,
          token: session.token,
        });
      } else if (queued) {
        decisions.push({ kind: 'queued', requestId, position: queued.position });
      } else if (!session && answeredAt < takenAt) {
        this.waiting.delete(requestId);
        decisions.push({ kind: 'lost', requestId });
      }
    }
    const release = list.sessions.map((s) => s.session_id).filter((id) => this.abandoned.delete(id));
    return { decisions, release };
  }

  private decide(decision: Decision): Outcome {
    const id = decision.requestId;
    if (this.abandoned.has(id)) {
      if (decision.kind !== 'granted') return NOTHING;
      this.abandoned.delete(id);
      return { decisions: [], release: [id] };
    }
    if (this.waiting.has(id)) {
      if (isFinal(decision)) this.waiting.delete(id);
      return { decisions: [decision], release: [] };
    }
    // Not ours yet (its 202 is on the way), or another device's: kept, a final one over a place.
    const kept = this.early.get(id);
    if (!kept || !isFinal(kept)) {
      this.early.delete(id);
      this.early.set(id, decision);
      trim(this.early, this.limit);
    }
    return NOTHING;
  }
}

function remember(set: Set<string>, id: string, limit: number): void {
  set.delete(id);
  set.add(id);
  while (set.size > limit) set.delete(set.values().next().value as string);
}

function trim<V>(map: Map<string, V>, limit: number): void {
  while (map.size > limit) map.delete(map.keys().next().value as string);
}
