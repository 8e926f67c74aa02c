//! MPEG-TS: [`writer`] packetises H.264 and AAC into self-contained segments, [`reader`] finds
//! the H.264 profile and level in a segment ffmpeg wrote.

pub mod reader;
pub mod writer;
