//! The unit every pipeline consumes: one RTMP media message, whose payload is exactly an FLV tag
//! body, so the same type also comes out of an FLV file or an FLV pipe.

use bytes::Bytes;

/// One unit of media as it arrives over RTMP, with the RTMP message timestamp (ms).
/// `data` is the RTMP message payload, which is exactly an FLV tag body.
#[derive(Debug, Clone)]
pub enum MediaPacket {
    /// `@setDataFrame`/`onMetaData` as an AMF0-encoded FLV script tag body.
    Metadata {
        data: Bytes,
    },
    Video {
        timestamp_ms: u32,
        data: Bytes,
    },
    Audio {
        timestamp_ms: u32,
        data: Bytes,
    },
}
