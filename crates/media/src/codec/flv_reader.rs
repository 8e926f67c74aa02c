//! Reads FLV: turns a byte stream (a transcoded rung ffmpeg writes back on a pipe, or a whole
//! file) into tags, the same bodies RTMP carries, so what comes back is cut into segments and
//! parts by the same [`Segmenter`](crate::hls::segmenter::Segmenter) as what was published.
//!
//! The decoder is incremental and runtime-free: it takes whatever bytes have arrived and returns
//! a tag once one is whole, so a reader on an async pipe wraps it in its runtime's codec trait
//! and a reader of a file feeds it the whole file. It trusts nothing: a bad signature, an unknown
//! tag type or a body over the size limit is an error, never a panic or an unbounded buffer.

use bytes::{Buf, Bytes, BytesMut};

use super::flv::TagKind;
use crate::MediaPacket;

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
    /// FLV's Filter bit: the body is encrypted and cannot be passed on as media. ffmpeg never
    /// sets it; a file from elsewhere may.
    pub filtered: bool,
}

/// The tag as the pipelines' packets carry it.
impl From<Tag> for MediaPacket {
    fn from(tag: Tag) -> Self {
        match tag.kind {
            TagKind::Video => MediaPacket::Video {
                timestamp_ms: tag.timestamp_ms,
                data: tag.body,
            },
            TagKind::Audio => MediaPacket::Audio {
                timestamp_ms: tag.timestamp_ms,
                data: tag.body,
            },
            TagKind::Script => MediaPacket::Metadata { data: tag.body },
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlvReadError {
    #[error("not an FLV stream (signature {0:02x?})")]
    Signature([u8; 3]),
    #[error("FLV tag of unknown type {0}")]
    TagType(u8),
    #[error("FLV tag body of {0} bytes is over the {MAX_BODY}-byte limit")]
    TooLarge(usize),
}

/// Decodes one FLV stream: its header first, then tags. A new stream (a restarted writer) needs
/// a new decoder.
#[derive(Debug, Default)]
pub struct FlvDecoder {
    header_read: bool,
}

impl FlvDecoder {
    /// The next whole tag at the front of `src`, removed from it; `None` until more bytes arrive
    /// (or, at the end of a file, when the last tag is cut short). The bodies are slices of
    /// `src`'s buffer, not copies.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Tag>, FlvReadError> {
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
            let filtered = src[0] & 0x20 != 0;
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
                        filtered,
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
    use crate::codec::flv::{file_header, write_tag};

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

    #[test]
    fn marks_filtered_tags_and_hands_tags_over_as_packets() {
        let mut src = stream(&[
            (TagKind::Audio, 7, &[0xaf, 1]),
            (TagKind::Video, 9, &[0x27, 1]),
            (TagKind::Script, 0, b"meta"),
        ]);
        // The Filter bit of the first tag's type byte, right after the 13-byte file header.
        src[13] |= 0x20;
        let tags = decode_all(&mut FlvDecoder::default(), &mut src);
        assert_eq!(
            tags.iter().map(|t| t.filtered).collect::<Vec<_>>(),
            [true, false, false]
        );
        let packets: Vec<MediaPacket> = tags.into_iter().map(MediaPacket::from).collect();
        assert!(
            matches!(&packets[0], MediaPacket::Audio { timestamp_ms: 7, data } if data[..] == [0xaf, 1])
        );
        assert!(
            matches!(&packets[1], MediaPacket::Video { timestamp_ms: 9, data } if data[..] == [0x27, 1])
        );
        assert!(matches!(&packets[2], MediaPacket::Metadata { data } if &data[..] == b"meta"));
    }
}
