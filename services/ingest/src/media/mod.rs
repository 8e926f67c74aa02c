//! The media side of the ingest: turns one publish's RTMP packets into an HLS ladder on disk.
//!
//! Pure rules live in their own files with tests beside them (`ladder`, `argv`, `flv`, `avc`,
//! `metadata`, `master`, `playlist`, `ts`, `source`); `process`, `outputs` and `pipeline` do the I/O;
//! [`FfmpegTranscoder`] implements the [`Transcoder`](crate::ports::Transcoder) port.

mod argv;
mod avc;
mod config;
mod flv;
mod ladder;
mod master;
mod metadata;
pub mod metrics;
mod outputs;
mod pipeline;
mod playlist;
mod process;
mod source;
mod transcoder;
mod ts;

pub use config::MediaConfig;
pub use ladder::{parse_ladder, RungSpec, DEFAULT_LADDER};
pub use transcoder::FfmpegTranscoder;
