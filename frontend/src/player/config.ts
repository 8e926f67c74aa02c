/**
 * hls.js settings for ferrocast's live streams.
 *
 * Why these numbers: ferrocast's ingest cuts 1 s segments by default
 * (FERROCAST_HLS_SEGMENT_SECONDS=1). hls.js by default plays 3 target durations behind the live
 * edge; measured in Debian Chromium with 1 s segments that is 4.1–4.2 s glass-to-glass, and with
 * `liveSyncDurationCount: 2` it is 2.2–2.6 s (shared/MEDIA-NOTES.md). Two segments is the
 * smallest distance that still leaves one whole segment of buffer while the next is fetched;
 * one would stall on every slow segment request.
 *
 * A low-latency playlist (partial segments, `EXT-X-PART`; the ingest writes them only when
 * `FERROCAST_HLS_PART_MILLIS` is set) says itself how far behind the newest part to play
 * (`PART-HOLD-BACK`). hls.js honours that only when the page did not set
 * `liveSyncDurationCount` itself (latency controller: a page's own value overrides the
 * playlist's), so the two segments are a *default* ({@link LIVE_HLS_DEFAULTS}), which applies
 * where the playlist names no hold-back.
 *
 * After a stall the player falls behind that target. It catches up by playing up to 1.2×
 * (inaudible for speech, unlike a seek); only past 6 segments behind (a long stall, a
 * backgrounded tab) does hls.js jump back to the live edge. The playback-rate catch-up
 * (`maxLiveSyncPlaybackRate`) also runs only when `lowLatencyMode` is true. Measured against a
 * 1 s-segment live stream without parts in Chromium: with the flag off, `hls.latency` stayed
 * wherever playback began (2.2–3.7 s, rate always 1); with it on, it converged to 2.05 s within
 * seconds, with the same number of requests.
 */
import type { HlsConfig } from 'hls.js';

/** hls.js defaults ferrocast changes (set on `Hls.DefaultConfig`, not passed): see above. */
export const LIVE_HLS_DEFAULTS: Partial<HlsConfig> = {
  liveSyncDurationCount: 2,
  // With it, not in the config: hls.js refuses a page's max without a page's sync count.
  liveMaxLatencyDurationCount: 6,
};

export const LIVE_HLS_CONFIG: Partial<HlsConfig> = {
  maxLiveSyncPlaybackRate: 1.2,
  lowLatencyMode: true,
  // A live viewer never seeks far back: keep 30 s of back buffer rather than the whole session,
  // so a stream watched for hours does not grow the page's memory.
  backBufferLength: 30,
  enableWorker: true,
};
