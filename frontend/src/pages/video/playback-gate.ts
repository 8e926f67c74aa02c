/**
 * The video page's playback session: asked for before the player starts, kept while it plays,
 * and what the viewer is told when there is none.
 *
 * Granted → the page plays with the session's token. Denied (every slot of the account taken)
 * → the dialog of denied-dialog.ts: end another session and ask again, wait in line, or not now.
 * Waiting → "you are number N", and the player starts by itself when the slot comes, without a
 * reload. Ended (from another device, or the lease lapsed) → the page stops its player and says
 * why, with "Play again". Leaving the page ends the session or withdraws the waiting request
 * (playback/lease.ts). Test ids: `playback-status`, `queue-cancel`, `playback-ended`,
 * `playback-idle`, `play-again`.
 */
import { ApiError, isAbortError } from '../../api/error';
import type { PlaybackSession } from '../../api/types';
import { h, replace, setText } from '../../dom';
import { PlaybackClient, type Granted } from '../../playback/client';
import { endedMessage } from '../../playback/events';
import { Lease, releaseOnLeave } from '../../playback/lease';
import { onLeave } from '../../ui/lifecycle';
import { deniedDialog } from './denied-dialog';

export interface GateHooks {
  /** A session was granted: start the player with its token. */
  play(token: string): void;
  /** The session is over: stop the player now. */
  stop(): void;
  /** The server says this visitor is not signed in (any more). */
  signedOut(): void;
}

export function queuedText(position: number): string {
  return `Waiting for a free screen: you are number ${position}.`;
}

export class PlaybackGate {
  readonly element: HTMLElement;
  private readonly status = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite', 'data-testid': 'playback-status', hidden: true });
  private readonly statusText = h('span');
  private readonly stopWaiting = h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'queue-cancel', hidden: true }, 'Stop waiting');
  private readonly ended = h('div', { class: 'notice notice-warn', role: 'alert', 'data-testid': 'playback-ended', hidden: true });
  private readonly idle = h('div', { class: 'notice', role: 'status', 'data-testid': 'playback-idle', hidden: true });
  private client: PlaybackClient | null = null;
  private lease: Lease | null = null;
  /** The request this page waits on (to withdraw when left). */
  private waitingOn: string | null = null;
  private asking: AbortController | null = null;
  /** The session that just ended here, so a late `ended` event can say why. */
  private endedSession: string | null = null;

  constructor(
    private readonly mediaId: string,
    private readonly signal: AbortSignal,
    private readonly hooks: GateHooks,
  ) {
    this.status.append(this.statusText, ' ', this.stopWaiting);
    // Hidden as a whole while it has nothing to say, so it takes no room above the player.
    this.element = h('div', { class: 'playback-gate', hidden: true }, this.status, this.ended, this.idle);
    this.stopWaiting.addEventListener('click', () => {
      this.asking?.abort();
      this.showIdle('You left the line.', 'Play');
    });
    onLeave(signal, () => {
      this.asking?.abort();
      this.lease?.close();
    });
    // A page restored from the back/forward cache sent its beacon when it was hidden: the
    // session it had is over.
    const onPageShow = (event: PageTransitionEvent) => {
      if (event.persisted && this.lease) this.end(this.lease.sessionId, 'stopped');
    };
    window.addEventListener('pageshow', onPageShow);
    onLeave(signal, () => window.removeEventListener('pageshow', onPageShow));
  }

  /** The token of the session playing here, if one does. */
  get token(): string | null {
    return this.lease?.token ?? null;
  }

  /** Asks for a session (again). */
  start(): void {
    void this.ask(false);
  }

  private connect(): PlaybackClient {
    if (this.client) return this.client;
    const client = new PlaybackClient(this.signal);
    releaseOnLeave(client, this.signal, () => this.lease?.sessionId ?? this.waitingOn);
    client.subscribe((event) => {
      if (event.type === 'ended' && event.session_id === this.endedSession) this.showEnded(endedMessage(event.reason));
    });
    this.client = client;
    return client;
  }

  private async ask(wait: boolean): Promise<void> {
    const client = this.connect();
    this.asking?.abort();
    const asking = new AbortController();
    this.asking = asking;
    this.endedSession = null;
    this.showStatus(wait ? 'Asking for a place in line…' : 'Asking for a screen…');
    try {
      const decision = await client.request(this.mediaId, {
        wait,
        signal: asking.signal,
        onAccepted: (id) => {
          this.waitingOn = id;
        },
        onQueued: (position) => this.showStatus(queuedText(position), true),
      });
      this.waitingOn = null;
      if (this.signal.aborted) return;
      switch (decision.kind) {
        case 'granted':
          this.granted(client, decision);
          return;
        case 'denied':
          await this.denied(client, decision.active);
          return;
        case 'ended':
          this.showIdle('Your place in line was given up from another device.', 'Play');
          return;
      }
    } catch (error) {
      this.waitingOn = null;
      if (isAbortError(error) || this.signal.aborted) return;
      if (error instanceof ApiError && error.isUnauthorized) {
        this.hide();
        this.hooks.signedOut();
        return;
      }
      this.showIdle(failureText(error), 'Try again');
    }
  }

  private granted(client: PlaybackClient, grant: Granted): void {
    this.lease = new Lease(client, grant, { onEnded: (reason) => this.end(grant.requestId, reason) });
    this.endedSession = null;
    this.hide();
    this.hooks.play(grant.token);
  }

  private async denied(client: PlaybackClient, active: PlaybackSession[]): Promise<void> {
    this.hide();
    const choice = await deniedDialog(active);
    if (this.signal.aborted) return;
    switch (choice.kind) {
      case 'end':
        this.showStatus('Ending the other session…');
        try {
          await client.end(choice.sessionId);
        } catch (error) {
          if (this.signal.aborted) return;
          this.showIdle(failureText(error), 'Try again');
          return;
        }
        await this.ask(false);
        return;
      case 'wait':
        await this.ask(true);
        return;
      case 'cancel':
        this.showIdle('Playback did not start: every screen of this account is in use.', 'Play');
        return;
    }
  }

  private end(sessionId: string, reason: string | null): void {
    this.lease?.close();
    this.lease = null;
    this.endedSession = sessionId;
    this.hooks.stop();
    this.showEnded(endedMessage(reason));
  }

  private showStatus(text: string, waiting = false): void {
    this.hide();
    setText(this.statusText, text);
    this.stopWaiting.hidden = !waiting;
    this.status.hidden = false;
    this.element.hidden = false;
  }

  private showEnded(text: string): void {
    this.hide();
    replace(this.ended, h('span', {}, text), ' ', this.againButton('Play again'));
    this.ended.hidden = false;
    this.element.hidden = false;
  }

  private showIdle(text: string, action: string): void {
    this.hide();
    replace(this.idle, h('span', {}, text), ' ', this.againButton(action));
    this.idle.hidden = false;
    this.element.hidden = false;
  }

  private againButton(label: string): HTMLButtonElement {
    const button = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'play-again' }, label);
    button.addEventListener('click', () => void this.ask(false));
    return button;
  }

  private hide(): void {
    this.element.hidden = true;
    this.status.hidden = true;
    this.ended.hidden = true;
    this.idle.hidden = true;
  }
}

function failureText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.isNotFound) return 'This video cannot be played now.';
    if (error.status === 429) return 'Too many playback requests from this account just now.';
    return `Playback could not start: ${error.message}`;
  }
  return 'Playback could not start.';
}
