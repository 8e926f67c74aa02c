/**
 * The viewer presence heartbeat: `POST /api/rooms/{username}/viewers` every 10 s while live.
 *
 * Holds the server-issued viewer token (loaded from and saved to the tab's storage, so a reload
 * of the tab counts as the same viewer) and reports what the answer means for the page.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import { loadViewerToken, saveViewerToken } from '../../viewer-token';

export const HEARTBEAT_MS = 10_000;

/** The room's viewer count; `gone` when the room is no longer live; null when nothing to do. */
export type BeatResult = { viewers: number } | 'gone' | null;

export class ViewerPresence {
  /** Issued by the server on the first heartbeat; sent back so this tab counts once. */
  private token: string | null;

  constructor(
    private readonly username: string,
    private readonly signal: AbortSignal,
  ) {
    this.token = loadViewerToken(username);
  }

  async beat(): Promise<BeatResult> {
    try {
      const answer = await api.heartbeat(this.username, this.token, this.signal);
      this.token = answer.viewer_token;
      saveViewerToken(this.username, this.token);
      return { viewers: answer.viewers };
    } catch (error) {
      if (isAbortError(error)) return null;
      // Any other failure is retried by the next tick.
      return error instanceof ApiError && error.isNotFound ? 'gone' : null;
    }
  }
}
