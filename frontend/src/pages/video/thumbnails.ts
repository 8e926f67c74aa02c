/**
 * Scrubbing thumbnails: the worker's WebVTT maps time ranges to regions of sprite sheets
 * (`sprite_0.jpg#xywh=160,0,160,90`). The page shows a seek bar under the video; hovering or
 * dragging it shows the frame at that time, cut from its sheet with CSS.
 */
import { h } from '../../dom';

export interface ThumbnailCue {
  start: number;
  end: number;
  /** The sheet's URL, resolved against the VTT's. */
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The cues of a thumbnail WebVTT; malformed cues are skipped. */
export function parseThumbnailVtt(text: string, vttUrl: string): ThumbnailCue[] {
  const cues: ThumbnailCue[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const timing = /^(\S+)\s+-->\s+(\S+)/.exec(lines[i] ?? '');
    if (!timing) continue;
    const start = seconds(timing[1] ?? '');
    const end = seconds(timing[2] ?? '');
    const target = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec((lines[i + 1] ?? '').trim());
    if (start === null || end === null || !target) continue;
    let url: string;
    try {
      url = new URL(target[1] ?? '', new URL(vttUrl, 'http://base.invalid')).pathname;
    } catch {
      continue;
    }
    cues.push({ start, end, url, x: Number(target[2]), y: Number(target[3]), width: Number(target[4]), height: Number(target[5]) });
  }
  return cues;
}

/** `hh:mm:ss.mmm` or `mm:ss.mmm` in seconds. */
function seconds(stamp: string): number | null {
  const parts = stamp.split(':').map(Number);
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !Number.isFinite(p) || p < 0)) return null;
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** The cue showing time `t` (binary search; cues are in time order). */
export function cueAt(cues: readonly ThumbnailCue[], t: number): ThumbnailCue | null {
  let low = 0;
  let high = cues.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const cue = cues[mid];
    if (!cue) return null;
    if (t < cue.start) high = mid - 1;
    else if (t >= cue.end) low = mid + 1;
    else return cue;
  }
  return null;
}

/** A seek bar with thumbnail previews for `video`; the VTT is fetched once. */
export function scrubBar(video: HTMLVideoElement, vttUrl: string, signal: AbortSignal): HTMLElement {
  const bar = h('input', {
    type: 'range',
    min: 0,
    max: 1000,
    value: 0,
    step: 1,
    class: 'scrub-bar',
    'aria-label': 'Seek',
    'data-testid': 'scrub-bar',
  }) as HTMLInputElement;
  const preview = h('div', { class: 'scrub-preview', 'data-testid': 'scrub-preview', hidden: true });
  const element = h('div', { class: 'scrub' }, preview, bar);
  let cues: ThumbnailCue[] = [];
  void fetch(vttUrl, { signal, credentials: 'same-origin' })
    .then((answer) => (answer.ok ? answer.text() : ''))
    .then((text) => {
      cues = parseThumbnailVtt(text, vttUrl);
    })
    .catch(() => undefined);

  const timeAt = (fraction: number) => (Number.isFinite(video.duration) ? fraction * video.duration : 0);
  const show = (fraction: number) => {
    const cue = cueAt(cues, timeAt(fraction));
    if (!cue) {
      preview.hidden = true;
      return;
    }
    preview.hidden = false;
    preview.style.width = `${cue.width}px`;
    preview.style.height = `${cue.height}px`;
    preview.style.backgroundImage = `url("${cue.url}")`;
    preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    const left = Math.min(Math.max(fraction * bar.clientWidth - cue.width / 2, 0), Math.max(bar.clientWidth - cue.width, 0));
    preview.style.left = `${left}px`;
    preview.dataset.cue = `${cue.start}`;
  };

  bar.addEventListener('pointermove', (event) => {
    const box = bar.getBoundingClientRect();
    if (box.width > 0) show(Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1));
  });
  bar.addEventListener('pointerleave', () => {
    preview.hidden = true;
  });
  bar.addEventListener('input', () => {
    const fraction = Number(bar.value) / 1000;
    show(fraction);
    video.currentTime = timeAt(fraction);
  });
  bar.addEventListener('change', () => {
    preview.hidden = true;
  });
  video.addEventListener('timeupdate', () => {
    if (document.activeElement === bar) return;
    if (Number.isFinite(video.duration) && video.duration > 0) bar.value = String(Math.round((video.currentTime / video.duration) * 1000));
  });
  return element;
}
