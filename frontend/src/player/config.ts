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
 * After a stall the player falls behind that target. It catches up by playing up to 1.2×
 * (inaudible for speech, unlike a seek); only past 6 segments behind (a long stall, a
 * backgrounded tab) does hls.js jump back to the live edge.
 *
 * `lowLatencyMode` is ON although the ingest writes plain HLS: in hls.js 1.7 the playback-rate
 * catch-up (`maxLiveSyncPlaybackRate`) runs only when `lowLatencyMode` is true (latency
 * controller), and everything else the flag does needs LL-HLS parts or
 * `EXT-X-SERVER-CONTROL`, which ferrocast's playlists do not have — so no part or blocking
 * playlist requests are made. Measured against a 1 s-segment live stream in Chromium: with the
 * flag off, `hls.latency` stayed wherever playback began (2.2–3.7 s, rate always 1); with it on,
 * it converged to 2.05 s within seconds, with the same number of requests. It is also hls.js's
 * default, so it is the setting the MEDIA-NOTES figures were taken with.
 */
import type { HlsConfig } from 'hls.js';

export const LIVE_HLS_CONFIG: Partial<HlsConfig> = {
  liveSyncDurationCount: 2,
  liveMaxLatencyDurationCount: 6,
  maxLiveSyncPlaybackRate: 1.2,
  lowLatencyMode: true,
  // A live viewer never seeks far back: keep 30 s of back buffer rather than the whole session,
  // so a stream watched for hours does not grow the page's memory.
  backBufferLength: 30,
  enableWorker: true,
};
