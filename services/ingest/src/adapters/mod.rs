//! The ingest's edges and the implementations of its ports: the RTMP server (`rtmp`), pipeline
//! supervision (`media`: ffmpeg and the native remuxer, the [`Transcoder`](crate::ports::Transcoder)
//! port), the HLS origin (`hls`), live thumbnails (`thumbnails`), past broadcasts (`recording`:
//! recording live streams and registering them with the catalogue), the users gRPC client and the
//! rooms HTTP callbacks.

pub mod hls;
pub mod media;
pub mod recording;
pub mod rooms;
pub mod rtmp;
pub mod thumbnails;
pub mod users;
