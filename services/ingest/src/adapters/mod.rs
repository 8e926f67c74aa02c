//! Adapters of the RTMP side's ports: the users gRPC client and the rooms HTTP callbacks, plus
//! nothing else: the ffmpeg transcoder lives in `crate::media`.

pub mod rooms;
pub mod users;
