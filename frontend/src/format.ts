/**
 * Display text: how long a stream has run, how many people watch, when a playback began, file
 * sizes and transfer speeds.
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

/** "started just now", "started 4 min ago", "started 2 h ago", then the date: when a playback began. */
export function formatStarted(startedAtMs: number, now: number = Date.now()): string {
  if (!Number.isFinite(startedAtMs)) return 'started';
  const elapsed = Math.max(0, now - startedAtMs);
  if (elapsed < MINUTE) return 'started just now';
  if (elapsed < HOUR) return `started ${Math.floor(elapsed / MINUTE)} min ago`;
  if (elapsed < DAY) return `started ${Math.floor(elapsed / HOUR)} h ago`;
  return `started ${formatDate(new Date(startedAtMs).toISOString())}`;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/**
 * "512 B", "1.5 MB", "4.0 GB": binary multiples (what file sizes and the upload limit are
 * counted in) under the short names people read; three significant digits at most.
 */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, Number.isFinite(bytes) ? bytes : 0);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** "3.20 MB/s"; "—" before there is a rate to show. */
export function formatSpeed(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '—';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "12.5 MB of 100 MB (12%)": the sent part of a transfer; the percentage is floored so 100% means done. */
export function formatProgress(done: number, total: number): string {
  const percent = total > 0 ? Math.floor((Math.min(done, total) / total) * 100) : 100;
  return `${formatBytes(done)} of ${formatBytes(total)} (${percent}%)`;
}
