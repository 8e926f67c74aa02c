//! The ingest's edges and the implementations of its ports: the RTMP server (`rtmp`), pipeline
//! supervision (`media`: ffmpeg and the native remuxer, the [`Transcoder`](crate::ports::Transcoder)
//! port), the HLS origin (`hls`), the users gRPC client and the rooms HTTP callbacks.

pub mod hls;
pub mod media;
pub mod rooms;
pub mod rtmp;
pub mod users;
