/**
 * Transfer speed over a sliding window: the bytes sent in the last few seconds divided by that
 * time. An average since the start would hide a stall; the last progress event alone jumps
 * around with the browser's event timing.
 */

export class SpeedMeter {
  private samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 3000) {}

  /** Total bytes done so far, at time `at` (ms). A total that goes down (a retried part) restarts the window. */
  add(at: number, bytes: number): void {
    const last = this.samples.at(-1);
    if (last && bytes < last.bytes) this.samples = [];
    this.samples.push({ at, bytes });
    const from = at - this.windowMs;
    // Keep one sample at or before the window's start, so the rate spans the whole window.
    while (this.samples.length > 2 && this.samples[1]!.at <= from) this.samples.shift();
  }

  /** Bytes per second over the window, or null until a rate can be told. */
  bytesPerSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < 200) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  reset(): void {
    this.samples = [];
  }
}
