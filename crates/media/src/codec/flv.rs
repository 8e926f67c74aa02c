//! FLV: the container ffmpeg reads on its stdin. RTMP media messages are already FLV tag bodies,
//! so muxing is only the 13-byte file header and an 11-byte header plus a 4-byte back pointer
//! around each body. This module also classifies bodies (sequence header, keyframe) because the
//! pipeline must start ffmpeg at a keyframe with the codec headers first.

use bytes::{BufMut, Bytes, BytesMut};

/// FLV tag types (FLV spec, E.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Audio = 8,
    Video = 9,
    Script = 18,
}

/// The FLV file header (signature, version 1, which streams follow) and `PreviousTagSize0`.
pub fn file_header(has_audio: bool, has_video: bool) -> [u8; 13] {
    let flags = (u8::from(has_audio) << 2) | u8::from(has_video);
    [b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]
}

/// Appends one tag (header, body, `PreviousTagSize`) to `out`. Bodies over 16 MiB cannot be
/// described by FLV's 24-bit size and are refused (RTMP limits keep real messages far below).
pub fn write_tag(
    out: &mut BytesMut,
    kind: TagKind,
    timestamp_ms: u32,
    body: &[u8],
) -> Result<(), TagTooLarge> {
    let size = u32::try_from(body.len())
        .ok()
        .filter(|size| *size < 1 << 24)
        .ok_or(TagTooLarge)?;
    out.reserve(11 + body.len() + 4);
    out.put_u8(kind as u8);
    out.put_uint(u64::from(size), 3);
    // 24 low bits then the "extended" high byte.
    out.put_uint(u64::from(timestamp_ms & 0x00ff_ffff), 3);
    out.put_u8((timestamp_ms >> 24) as u8);
    out.put_uint(0, 3);
    out.put_slice(body);
    out.put_u32(11 + size);
    Ok(())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("FLV tag body larger than 16 MiB")]
pub struct TagTooLarge;

/// What a video tag body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoBody {
    /// AVC sequence header: the decoder configuration record follows at offset 5.
    AvcSequenceHeader,
    AvcKeyFrame,
    AvcFrame,
    /// End of sequence, info frames, or an empty body: forwarded but never a start point.
    AvcOther,
    /// Not H.264 (Sorenson, VP6, enhanced-RTMP HEVC/AV1...): the ladder only handles AVC.
    Unsupported,
}

pub fn classify_video(body: &[u8]) -> VideoBody {
    let Some(&first) = body.first() else {
        return VideoBody::AvcOther;
    };
    // Enhanced RTMP sets the high bit of the frame type nibble and carries a FourCC instead.
    if first & 0x80 != 0 || first & 0x0f != 7 {
        return VideoBody::Unsupported;
    }
    let frame_type = first >> 4;
    match (frame_type, body.get(1)) {
        (_, Some(0)) => VideoBody::AvcSequenceHeader,
        (1, Some(1)) => VideoBody::AvcKeyFrame,
        (5, _) => VideoBody::AvcOther,
        (_, Some(1)) => VideoBody::AvcFrame,
        _ => VideoBody::AvcOther,
    }
}

/// The decoder configuration record inside an AVC sequence header body.
pub fn avc_record(body: &[u8]) -> Option<&[u8]> {
    body.get(5..)
}

/// What an audio tag body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioBody {
    /// AAC AudioSpecificConfig with its audio object type (2 = AAC-LC).
    AacSequenceHeader {
        object_type: u8,
    },
    AacFrame,
    /// MP3, Speex, G.711...: re-encoded to AAC for HLS.
    Other,
}

pub fn classify_audio(body: &[u8]) -> AudioBody {
    match body {
        [first, 0, config @ ..] if first >> 4 == 10 => {
            // The first 5 bits of AudioSpecificConfig; 31 would escape to 6 more bits, which
            // no RTMP encoder sends, so it is reported as-is.
            let object_type = config.first().map_or(2, |byte| byte >> 3);
            AudioBody::AacSequenceHeader { object_type }
        }
        [first, ..] if first >> 4 == 10 => AudioBody::AacFrame,
        _ => AudioBody::Other,
    }
}

/// `onMetaData` with an optional `@setDataFrame` wrapper removed, ready to be an FLV script tag
/// (ffmpeg's FLV demuxer only understands the bare form).
pub fn normalize_metadata(body: &Bytes) -> Bytes {
    const SET_DATA_FRAME: &[u8] = b"@setDataFrame";
    if body.first() == Some(&2) && body.get(3..3 + SET_DATA_FRAME.len()) == Some(SET_DATA_FRAME) {
        return body.slice(3 + SET_DATA_FRAME.len()..);
    }
    body.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_header_flags_audio_and_video() {
        assert_eq!(
            file_header(true, true),
            [0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]
        );
        assert_eq!(file_header(false, true)[4], 1);
    }

    #[test]
    fn tag_bytes_follow_the_spec() {
        let mut out = BytesMut::new();
        write_tag(&mut out, TagKind::Video, 0x0102_0304, &[0xaa, 0xbb]).expect("small");
        assert_eq!(
            out.as_ref(),
            [
                9, 0, 0, 2, // type, size
                0x02, 0x03, 0x04, 0x01, // timestamp low 24 bits, extended byte
                0, 0, 0, // stream id
                0xaa, 0xbb, // body
                0, 0, 0, 13, // previous tag size = 11 + 2
            ]
        );
    }

    #[test]
    fn oversized_body_is_refused() {
        let mut out = BytesMut::new();
        assert_eq!(
            write_tag(&mut out, TagKind::Audio, 0, &vec![0; 1 << 24]),
            Err(TagTooLarge)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn classifies_video_bodies() {
        assert_eq!(
            classify_video(&[0x17, 0, 0, 0, 0, 1]),
            VideoBody::AvcSequenceHeader
        );
        assert_eq!(classify_video(&[0x17, 1, 0, 0, 0]), VideoBody::AvcKeyFrame);
        assert_eq!(classify_video(&[0x27, 1, 0, 0, 0]), VideoBody::AvcFrame);
        assert_eq!(classify_video(&[0x17, 2, 0, 0, 0]), VideoBody::AvcOther);
        assert_eq!(classify_video(&[]), VideoBody::AvcOther);
        assert_eq!(classify_video(&[0x12, 0]), VideoBody::Unsupported);
        assert_eq!(
            classify_video(&[0x90, b'h', b'v', b'c', b'1']),
            VideoBody::Unsupported
        );
    }

    #[test]
    fn classifies_audio_bodies() {
        assert_eq!(
            classify_audio(&[0xaf, 0, 0x12, 0x08]),
            AudioBody::AacSequenceHeader { object_type: 2 }
        );
        assert_eq!(classify_audio(&[0xaf, 1, 0x21]), AudioBody::AacFrame);
        assert_eq!(classify_audio(&[0x2f, 0xff]), AudioBody::Other);
        assert_eq!(classify_audio(&[]), AudioBody::Other);
    }

    #[test]
    fn set_data_frame_wrapper_is_removed() {
        let mut wrapped = vec![2, 0, 13];
        wrapped.extend_from_slice(b"@setDataFrame");
        wrapped.extend_from_slice(&[2, 0, 10]);
        wrapped.extend_from_slice(b"onMetaData");
        let bare = normalize_metadata(&Bytes::from(wrapped));
        assert_eq!(&bare[..3], &[2, 0, 10]);
        assert_eq!(normalize_metadata(&bare), bare);
    }
}
