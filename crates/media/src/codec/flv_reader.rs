//! Reads FLV back: a transcoded rung comes out of ffmpeg as FLV on a pipe ([`super::relay`]), and
//! this decoder turns the byte stream into tags (the same bodies RTMP carries), so the rung is
//! cut into segments and parts by the same [`super::segmenter::Segmenter`] as the passthrough.
//!
//! The writer is our own ffmpeg, but the decoder still trusts nothing: a bad signature, an
//! unknown tag type or a body over the size limit is an error, never a panic or an unbounded
//! buffer.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::flv::TagKind;

/// The FLV header (9 bytes here, its `DataOffset` may say more) and `PreviousTagSize0`.
const MIN_HEADER: usize = 9 + 4;
const TAG_HEADER: usize = 11;
const BACK_POINTER: usize = 4;
/// Far above any picture x264 writes for the ladder's rungs; a larger body means corruption.
pub const MAX_BODY: usize = 8 << 20;

/// One tag: its kind, its timestamp (ms, extended byte included) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    pub timestamp_ms: u32,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum FlvReadError {
    #[error("not an FLV stream (signature {0:02x?})")]
    Signature([u8; 3]),
    #[error("FLV tag of unknown type {0}")]
    TagType(u8),
    #[error("FLV tag body of {0} bytes is over the {MAX_BODY}-byte limit")]
    TooLarge(usize),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Decodes one FLV stream: its header first, then tags. A new stream (a restarted writer) needs
/// a new decoder.
#[derive(Debug, Default)]
pub struct FlvDecoder {
    header_read: bool,
}

impl Decoder for FlvDecoder {
    type Item = Tag;
    type Error = FlvReadError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Tag>, FlvReadError> {
        if !self.header_read {
            if src.len() < MIN_HEADER {
                return Ok(None);
            }
            if &src[..3] != b"FLV" {
                return Err(FlvReadError::Signature([src[0], src[1], src[2]]));
            }
            let offset = u32::from_be_bytes([src[5], src[6], src[7], src[8]]) as usize;
            if offset > 64 {
                return Err(FlvReadError::TooLarge(offset));
            }
            let skip = offset.max(9) + BACK_POINTER;
            if src.len() < skip {
                return Ok(None);
            }
            src.advance(skip);
            self.header_read = true;
        }
        loop {
            if src.len() < TAG_HEADER {
                return Ok(None);
            }
            let size = u32::from_be_bytes([0, src[1], src[2], src[3]]) as usize;
            if size > MAX_BODY {
                return Err(FlvReadError::TooLarge(size));
            }
            let total = TAG_HEADER + size + BACK_POINTER;
            if src.len() < total {
                src.reserve(total - src.len());
                return Ok(None);
            }
            let kind = match src[0] & 0x1f {
                8 => Some(TagKind::Audio),
                9 => Some(TagKind::Video),
                18 => Some(TagKind::Script),
                // Filtered or encrypted tags (high bits) are not something ffmpeg writes.
                other if src[0] & 0xe0 != 0 => return Err(FlvReadError::TagType(other)),
                _ => None,
            };
            let timestamp_ms = u32::from_be_bytes([src[7], src[4], src[5], src[6]]);
            src.advance(TAG_HEADER);
            let body = src.split_to(size).freeze();
            src.advance(BACK_POINTER);
            match kind {
                Some(kind) => {
                    return Ok(Some(Tag {
                        kind,
                        timestamp_ms,
                        body,
                    }))
                }
                // Tag types FLV reserves for later are skipped, as its spec asks of readers.
                None => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::flv::{file_header, write_tag};

    fn stream(tags: &[(TagKind, u32, &[u8])]) -> BytesMut {
        let mut out = BytesMut::from(&file_header(true, true)[..]);
        for (kind, at, body) in tags {
            write_tag(&mut out, *kind, *at, body).expect("small");
        }
        out
    }

    fn decode_all(decoder: &mut FlvDecoder, src: &mut BytesMut) -> Vec<Tag> {
        let mut tags = Vec::new();
        while let Some(tag) = decoder.decode(src).expect("valid") {
            tags.push(tag);
        }
        tags
    }

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let mut src = stream(&[
            (TagKind::Script, 0, b"meta"),
            (TagKind::Video, 0x0102_0304, &[0x17, 1, 0, 0, 0]),
            (TagKind::Audio, 40, &[0xaf, 1, 0x21]),
        ]);
        let tags = decode_all(&mut FlvDecoder::default(), &mut src);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[0].kind, TagKind::Script);
        assert_eq!(
            tags[1].timestamp_ms, 0x0102_0304,
            "extended byte is the high one"
        );
        assert_eq!(tags[1].body.as_ref(), &[0x17, 1, 0, 0, 0]);
        assert_eq!((tags[2].kind, tags[2].timestamp_ms), (TagKind::Audio, 40));
        assert!(src.is_empty());
    }

    #[test]
    fn waits_for_whole_tags_when_bytes_arrive_one_at_a_time() {
        let whole = stream(&[
            (TagKind::Video, 33, &[0x27, 1, 0, 0, 0, 9, 9]),
            (TagKind::Audio, 40, &[0xaf, 1]),
        ]);
        let mut decoder = FlvDecoder::default();
        let mut src = BytesMut::new();
        let mut tags = Vec::new();
        for byte in whole.iter() {
            src.extend_from_slice(&[*byte]);
            tags.extend(decode_all(&mut decoder, &mut src));
        }
        assert_eq!(
            tags.iter().map(|t| t.timestamp_ms).collect::<Vec<_>>(),
            [33, 40]
        );
    }

    #[test]
    fn refuses_what_is_not_flv() {
        let mut src = BytesMut::from(&b"GIF89a and then some more bytes"[..]);
        assert!(matches!(
            FlvDecoder::default().decode(&mut src),
            Err(FlvReadError::Signature(_))
        ));
    }

    #[test]
    fn refuses_an_oversized_body_before_buffering_it() {
        let mut src = stream(&[]);
        src.extend_from_slice(&[9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(
            FlvDecoder::default().decode(&mut src),
            Err(FlvReadError::TooLarge(size)) if size == 0xff_ffff
        ));
    }

    #[test]
    fn skips_reserved_tag_types() {
        let mut src = stream(&[]);
        // Type 15 (reserved), one body byte, then a real video tag.
        src.extend_from_slice(&[15, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xee, 0, 0, 0, 12]);
        let mut rest = stream(&[(TagKind::Video, 5, &[0x27, 1])]);
        rest.advance(13);
        src.extend_from_slice(&rest);
        let tags = decode_all(&mut FlvDecoder::default(), &mut src);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].timestamp_ms, 5);
    }
}
