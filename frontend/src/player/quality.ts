/**
 * The quality menu as data: which entries the `<select>` shows for the stream's levels.
 *
 * Pure, so the labelling rules are unit-tested without a video element. Entries are sorted from
 * the highest picture down, each keeps the hls.js level index it selects, and "Auto" (hls.js
 * level -1, adaptive) comes first. Two renditions of one height (a copied source plus a
 * transcoded rung) are told apart by bitrate; a level without a known height is labelled by
 * bitrate alone.
 */

export const AUTO_LEVEL = -1;

export interface LevelInfo {
  height: number;
  /** bits per second, as in the master playlist's BANDWIDTH */
  bitrate: number;
}

export interface QualityEntry {
  value: number;
  label: string;
}

export function formatBitrate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1_000_000) return `${(bitsPerSecond / 1_000_000).toFixed(1).replace(/\.0$/, '')} Mb/s`;
  return `${Math.round(bitsPerSecond / 1000)} kb/s`;
}

export function qualityEntries(levels: readonly LevelInfo[]): QualityEntry[] {
  const heightCount = new Map<number, number>();
  for (const l of levels) heightCount.set(l.height, (heightCount.get(l.height) ?? 0) + 1);

  const entries = levels
    .map((level, index) => ({ level, index }))
    .sort((a, b) => b.level.height - a.level.height || b.level.bitrate - a.level.bitrate)
    .map(({ level, index }) => {
      let label: string;
      if (!level.height) label = formatBitrate(level.bitrate);
      else if ((heightCount.get(level.height) ?? 0) > 1) label = `${level.height}p · ${formatBitrate(level.bitrate)}`;
      else label = `${level.height}p`;
      return { value: index, label };
    });

  return [{ value: AUTO_LEVEL, label: 'Auto' }, ...entries];
}
