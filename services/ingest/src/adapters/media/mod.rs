//! The media side of the ingest: turns one publish's RTMP packets into an HLS ladder on disk.
//!
//! The pure rules (FLV, AVC, AAC, MPEG-TS, segments and parts, playlists, the ladder and ffmpeg's
//! command line) live in the `ferrocast-media` crate; this module does the I/O and supervision
//! around them: `process` (one ffmpeg child), `fifo` and `relay` (the transcoded rungs read back
//! from ffmpeg), `native` and `rung` (renditions the ingest writes itself), `outputs` (the
//! session folder) and `pipeline` (one publish's task). [`FfmpegTranscoder`] implements the
//! [`Transcoder`](crate::ports::Transcoder) port.

mod config;
mod fifo;
pub mod metrics;
mod native;
mod outputs;
mod pipeline;
mod process;
mod relay;
mod rung;
mod transcoder;
mod watched;

pub use config::{CopyMuxer, MediaConfig};
pub use ferrocast_media::ladder::{parse_ladder, RungSpec, DEFAULT_LADDER};
/// Every tool the ingest runs gets the same stripped environment (thumbnails too).
pub(crate) use process::command;
pub use transcoder::FfmpegTranscoder;
pub use watched::WatchedSink;
