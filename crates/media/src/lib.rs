//! Media code with no I/O and no async runtime, for the live ingest, the benchmarks and the VOD
//! worker to share: bytes in, bytes or plans out, every parser bounded against untrusted input
//! and unit-tested beside its code.
//!
//! - [`codec`]: what RTMP and FLV carry — FLV tags (writing and reading), the AVC decoder
//!   configuration and SPS, H.264 to Annex B, AAC to ADTS, `onMetaData`.
//! - [`ts`]: MPEG-TS segments — the writer of natively remuxed segments and a reader of the
//!   codec profile ffmpeg wrote.
//! - [`hls`]: HLS output — cutting segments and LL-HLS parts, the live window and its media
//!   playlist, ffmpeg's variant playlists, the master playlist.
//! - [`ladder`]: which renditions a source gets, and the ffmpeg command line that makes them.
//! - [`source`]: what a live source has shown so far, fed packet by packet.
//! - [`vod`]: an uploaded file — ffprobe's report, the limits, the plan with fast start, ffmpeg
//!   and Shaka Packager command lines (keys in a flag file, never in argv), the HLS master of
//!   finished rungs, thumbnails' WebVTT, ClearKey playback.
//!
//! Dependencies only point one way: `hls` uses `ts` and `codec`, `source` uses `codec` and
//! `ladder`, `vod` uses `ladder`, and nothing below uses what is above it.

pub mod codec;
pub mod hls;
pub mod ladder;
mod packet;
pub mod source;
pub mod ts;
pub mod vod;

pub use packet::MediaPacket;
