/**
 * The account's playback sessions as one page sees them: the event stream
 * (`GET /api/playback/events`, read with sse.ts, reopened with backoff), playback requests
 * matched to the decisions pushed for them, and ending sessions.
 *
 * A request is sent only once the stream has given its first `snapshot`, so the stream is
 * listening before the decision is made; a decision that still comes before the 202 is kept by
 * request id (pending.ts). A request that hears nothing within a few seconds of its 202 asks
 * the REST list where it stands, and one whose decision was lost with a dropped stream is asked
 * again. One client per page, closed with the page's `AbortSignal`.
 */
import { api, playbackStopPath } from '../api/endpoints';
import { ApiError, isAbortError, parseErrorResponse } from '../api/error';
import { readEventStream, type EventStreamOptions } from '../sse';
import { deviceLabel } from './device';
import { parsePlaybackEvent, type PlaybackEvent } from './events';
import { PendingRequests, type Decision, type Outcome } from './pending';

export const PLAYBACK_EVENTS_PATH = '/api/playback/events';

/** How long a request waits for its first decision before asking the list. */
const RESYNC_MS = 5000;
/** Requests asked again after their decision was lost, before giving up. */
const MAX_LOST = 2;

export type Granted = Extract<Decision, { kind: 'granted' }>;
/** What a request ends in: a session, a refusal, or (while waiting) withdrawn elsewhere. */
export type FinalDecision = Extract<Decision, { kind: 'granted' | 'denied' | 'ended' }>;
/** A decision that settles a request, `lost` included (the client then asks again). */
type Settled = Exclude<Decision, { kind: 'queued' }>;

export interface PlaybackRequestOptions {
  /** Wait in line when every slot is taken, instead of being denied. */
  wait?: boolean;
  /** Told each place in line while the request waits (1 = next). */
  onQueued?: (position: number) => void;
  /** Told the request's id once the server named it (what the page holds until decided). */
  onAccepted?: (requestId: string) => void;
  /** Withdraws the request (DELETE) and rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface PlaybackClientOptions extends EventStreamOptions {
  /** The device label sent with requests; from `navigator.userAgent` by default. */
  device?: string;
  resyncMs?: number;
}

interface Handle {
  resolve(decision: Settled): void;
  reject(error: unknown): void;
  onQueued?: ((position: number) => void) | undefined;
  /** Pending list request, while nothing has been heard of the request. */
  timer: ReturnType<typeof setTimeout> | null;
  /** Something was decided (a place in line at least). */
  heard: boolean;
}

type Listener = (event: PlaybackEvent) => void;

export class PlaybackClient {
  private readonly pending = new PendingRequests();
  private readonly listeners = new Set<Listener>();
  private readonly handles = new Map<string, Handle>();
  private readonly device: string;
  /** Tick at which the current connection was opened. */
  private connectedAt = 0;
  /** The current connection has given its snapshot. */
  private ready = false;
  private waiters: { resolve(): void; reject(error: unknown): void }[] = [];
  /** The stream's refusal (401 signed out, 404 …), for good. */
  private refused: ApiError | null = null;

  constructor(
    private readonly signal: AbortSignal,
    private readonly options: PlaybackClientOptions = {},
  ) {
    this.device = options.device ?? deviceLabel(navigator.userAgent);
    void readEventStream(
      {
        url: () => PLAYBACK_EVENTS_PATH,
        onConnecting: () => {
          this.connectedAt = this.pending.tick();
          this.ready = false;
        },
        onMessage: (message) => {
          const event = parsePlaybackEvent(message);
          if (event) this.receive(event);
        },
        onRefused: (status) => {
          this.refused = parseErrorResponse(status, '');
          this.settleWaiters(this.refused);
        },
      },
      signal,
      options,
    );
    signal.addEventListener('abort', () => this.settleWaiters(new DOMException('The page was left.', 'AbortError')), { once: true });
  }

  /** Every event of the stream, after this client's own requests have taken theirs. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Asks to play `mediaId`; resolves with the decision: `granted` (with the token), `denied`
   * (with the account's active sessions), or `ended` (a waiting request withdrawn elsewhere).
   * Rejects with an `ApiError` when the server refuses the request itself (401, 404, 429 …).
   */
  async request(mediaId: string, options: PlaybackRequestOptions = {}): Promise<FinalDecision> {
    for (let lost = 0; ; lost += 1) {
      await this.whenReady(options.signal);
      // Not aborted with the signal: once sent, the server may have recorded it, and only its
      // id lets it be withdrawn.
      const { request_id: requestId } = await api.requestPlayback({ media_id: mediaId, device: this.device, wait: options.wait ?? false });
      if (options.signal?.aborted || this.signal.aborted) {
        this.abandon(requestId);
        throw new DOMException('The request was withdrawn.', 'AbortError');
      }
      const decision = await this.follow(requestId, options);
      if (decision.kind !== 'lost') return decision;
      // Should it have been granted after all, the grant is released, not left to lapse.
      this.abandon(requestId);
      if (lost >= MAX_LOST) throw new ApiError(0, 'network', 'ferrocast did not answer the playback request. Please try again.');
    }
  }

  /** Ends one of the account's sessions, or withdraws a waiting request; gone already is fine. */
  async end(id: string): Promise<void> {
    try {
      await api.endPlayback(id);
    } catch (error) {
      if (!(error instanceof ApiError && error.isNotFound)) throw error;
    }
  }

  /** Its own player stopping a session (or withdrawing its request): `stopped` to the other tabs. */
  async stop(id: string): Promise<void> {
    try {
      await api.stopPlayback(id);
    } catch (error) {
      if (!(error instanceof ApiError && error.isNotFound)) throw error;
    }
  }

  /** Ends a session or withdraws a request from a closing page, where a fetch may not finish. */
  beacon(id: string): void {
    const path = playbackStopPath(id);
    if (typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(path)) return;
    void fetch(path, { method: 'POST', credentials: 'same-origin', keepalive: true }).catch(() => undefined);
  }

  private whenReady(signal: AbortSignal | undefined): Promise<void> {
    if (this.refused) return Promise.reject(this.refused);
    if (this.signal.aborted || signal?.aborted) return Promise.reject(new DOMException('Aborted', 'AbortError'));
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new DOMException('Aborted', 'AbortError'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private settleWaiters(error: unknown | null): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
    if (error && isAbortError(error)) {
      // The page is left: what it holds is released by the page (lease.ts), not here.
      for (const [id, handle] of [...this.handles]) {
        this.drop(id, handle);
        this.pending.abandon(id);
        handle.reject(error);
      }
    }
  }

  /** Waits for the decision on `requestId` (a `lost` one included). */
  private follow(requestId: string, options: PlaybackRequestOptions): Promise<Settled> {
    return new Promise<Settled>((resolve, reject) => {
      const onAbort = () => {
        this.abandon(requestId);
        reject(new DOMException('The request was withdrawn.', 'AbortError'));
      };
      const handle: Handle = {
        resolve: (decision) => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve(decision);
        },
        reject: (error) => {
          options.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
        onQueued: options.onQueued,
        timer: null,
        heard: false,
      };
      this.handles.set(requestId, handle);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      options.onAccepted?.(requestId);
      for (const decision of this.pending.answered(requestId)) this.deliver(decision);
      if (this.handles.get(requestId) === handle) this.armResync(requestId, handle);
    });
  }

  /** Gives up on a request: withdrawn on the server, and its grant released should one come. */
  private abandon(requestId: string): void {
    const handle = this.handles.get(requestId);
    if (handle) this.drop(requestId, handle);
    this.pending.abandon(requestId);
    void this.end(requestId).catch(() => undefined);
  }

  private drop(requestId: string, handle: Handle): void {
    if (handle.timer) clearTimeout(handle.timer);
    this.handles.delete(requestId);
  }

  private armResync(requestId: string, handle: Handle): void {
    handle.timer = setTimeout(() => {
      handle.timer = null;
      if (this.handles.get(requestId) === handle && !this.signal.aborted) void this.resync();
    }, this.options.resyncMs ?? RESYNC_MS);
  }

  /** Where this tab's requests stand, from the REST list. */
  private async resync(): Promise<void> {
    const takenAt = this.pending.tick();
    try {
      const list = await api.playbackList(this.signal);
      this.apply(this.pending.resync(list, takenAt));
    } catch {
      // The stream's next snapshot will tell; meanwhile ask again later.
    }
    for (const [id, handle] of this.handles) {
      if (!handle.heard && !handle.timer && this.pending.has(id)) this.armResync(id, handle);
    }
  }

  private receive(event: PlaybackEvent): void {
    if (this.signal.aborted) return;
    this.apply(this.pending.event(event, this.connectedAt));
    if (event.type === 'snapshot' && !this.ready) {
      this.ready = true;
      this.settleWaiters(null);
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  private apply(outcome: Outcome): void {
    for (const decision of outcome.decisions) this.deliver(decision);
    for (const id of outcome.release) void this.end(id).catch(() => undefined);
  }

  private deliver(decision: Decision): void {
    const handle = this.handles.get(decision.requestId);
    if (!handle) return;
    if (handle.timer) clearTimeout(handle.timer);
    handle.timer = null;
    handle.heard = true;
    if (decision.kind === 'queued') {
      handle.onQueued?.(decision.position);
      return;
    }
    this.handles.delete(decision.requestId);
    handle.resolve(decision);
  }
}
