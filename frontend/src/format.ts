/**
 * Display text for live rooms: how long a stream has run and how many people watch.
 *
 * Pure functions of their inputs (the clock is a parameter) so the wording is unit-tested and
 * every page says it the same way.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "live for 3 min", "live for 1 h 5 min", "live for 2 d 3 h"; never negative under clock skew. */
export function formatLiveFor(startedAt: string, now: number = Date.now()): string {
  const start = Date.parse(startedAt);
  if (Number.isNaN(start)) return 'live';
  const elapsed = Math.max(0, now - start);
  if (elapsed < MINUTE) return 'live for under a minute';
  if (elapsed < HOUR) return `live for ${Math.floor(elapsed / MINUTE)} min`;
  if (elapsed < DAY) {
    const h = Math.floor(elapsed / HOUR);
    const m = Math.floor((elapsed % HOUR) / MINUTE);
    return m ? `live for ${h} h ${m} min` : `live for ${h} h`;
  }
  const d = Math.floor(elapsed / DAY);
  const h = Math.floor((elapsed % DAY) / HOUR);
  return h ? `live for ${d} d ${h} h` : `live for ${d} d`;
}

const countFormat = new Intl.NumberFormat('en');

/** "1 viewer", "0 viewers", "1,234 viewers". */
export function formatViewers(count: number): string {
  const n = Math.max(0, Math.floor(count));
  return `${countFormat.format(n)} ${n === 1 ? 'viewer' : 'viewers'}`;
}

/** A calendar date for "created on …" texts; the raw string when it is not a valid date. */
export function formatDate(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
}
