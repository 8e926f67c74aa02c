//! The media side of the ingest: turns one publish's RTMP packets into an HLS ladder on disk.
//!
//! Pure rules live in their own files with tests beside them (`ladder`, `argv`, `flv`, `avc`,
//! `metadata`, `master`, `playlist`, `ts`, `source`, and for the natively remuxed passthrough
//! rendition `annexb`, `adts`, `ts_writer`, `segmenter`, `window`); `process`, `outputs`,
//! `native`, `relay` (the transcoded rungs read back from ffmpeg, through `flv_reader`) and
//! `pipeline` do the I/O; [`FfmpegTranscoder`] implements the
//! [`Transcoder`](crate::ports::Transcoder) port.

mod adts;
mod annexb;
mod argv;
mod avc;
mod config;
mod flv;
mod flv_reader;
mod ladder;
mod master;
mod metadata;
pub mod metrics;
mod native;
mod outputs;
mod pipeline;
mod playlist;
mod process;
mod relay;
mod rung;
mod segmenter;
mod source;
mod transcoder;
mod ts;
mod ts_writer;
mod window;

pub use config::{CopyMuxer, MediaConfig};
pub use ladder::{parse_ladder, RungSpec, DEFAULT_LADDER};
pub use transcoder::FfmpegTranscoder;
