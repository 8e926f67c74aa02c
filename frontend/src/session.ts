/**
 * Who is logged in, as far as this tab knows.
 *
 * The session itself is the HttpOnly cookie, which scripts cannot read, so `GET /api/users/me`
 * is the only truth; the answer is cached here and refreshed after login and logout. The header
 * and the dashboard subscribe to changes. No token is kept in any storage.
 */
import { api } from './api/endpoints';
import { ApiError } from './api/error';
import type { User } from './api/types';
import { navigate } from './router';

type Listener = (user: User | null) => void;

let current: User | null | undefined;
let loading: Promise<User | null> | null = null;
const listeners = new Set<Listener>();

/** The logged-in user, or null; asks the server once and reuses the answer. */
export function currentUser(): Promise<User | null> {
  if (current !== undefined) return Promise.resolve(current);
  loading ??= api
    .me()
    .then(
      (user) => {
        setUser(user);
        return user;
      },
      (error: unknown) => {
        // 401 is the ordinary "not logged in" answer and is cached. Anything else (users
        // service down) shows as logged out too, but is not cached, so the next page asks again.
        if (error instanceof ApiError && error.isUnauthorized) setUser(null);
        return null;
      },
    )
    .finally(() => {
      loading = null;
    });
  return loading;
}

export function setUser(user: User | null): void {
  current = user;
  for (const l of [...listeners]) l(user);
}

/** Forget the cached answer (for example after the server said 401 to an authenticated call). */
export function invalidateSession(): void {
  current = undefined;
  loading = null;
}

export function onUserChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function logout(): Promise<void> {
  try {
    await api.logout();
  } finally {
    setUser(null);
  }
}

/**
 * For pages behind login: a 401 from an authenticated call means the session cookie expired
 * (the JWT is short-lived and the API has no refresh), so forget the user and send them to log
 * in again, back to where they were. Returns whether it handled the error.
 */
export function handleExpiredSession(error: unknown): boolean {
  if (!(error instanceof ApiError) || !error.isUnauthorized) return false;
  setUser(null);
  navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
  return true;
}
