//! The source file, read once and shared by every stream: an FLV file, split into tags by the
//! media crate's FLV reader (the one the ingest reads ffmpeg's output with).
//!
//! Bodies stay `Bytes` slices of the one file buffer, so a thousand streams send the same memory.
//! What a looping `ffmpeg -re -stream_loop -1 -c copy` would not send again is marked here:
//! codec sequence headers go out once per connection (a repeated one reads as a codec change to
//! a server), and AVC end-of-sequence tags, which ffmpeg's FLV demuxer drops, are left out.

use bytes::{Bytes, BytesMut};
use ferrocast_media::codec::{
    flv::{self, AudioBody, TagKind, VideoBody},
    flv_reader::{FlvDecoder, FlvReadError},
};
use rml_rtmp::{rml_amf0, sessions::StreamMetadata};

/// The FLV file header without `PreviousTagSize0`.
const HEADER_LEN: usize = 9;
/// Frame length assumed when the file has fewer than two video tags (30 fps).
const DEFAULT_FRAME_MS: u32 = 33;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Audio,
    Video,
}

/// One audio or video tag, its timestamp rebased so that the file starts at 0.
#[derive(Debug, Clone)]
pub struct Tag {
    pub kind: Kind,
    pub timestamp_ms: u32,
    pub body: Bytes,
    /// AVC decoder configuration or AAC AudioSpecificConfig: sent on the first pass only.
    pub sequence_header: bool,
}

/// The media of the file, ready to be looped.
#[derive(Debug)]
pub struct Source {
    pub tags: Vec<Tag>,
    /// Timestamp offset between two passes: the last timestamp plus one video frame, as
    /// `-stream_loop` continues the clock (so the next pass starts one frame after the last one).
    pub loop_ms: u32,
    /// From the file's onMetaData, when it has one.
    pub metadata: Option<StreamMetadata>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlvError {
    #[error("not an FLV file (no FLV signature)")]
    NotFlv,
    #[error("FLV header is truncated")]
    TruncatedHeader,
    #[error("the file has no audio or video tag")]
    NoMedia,
    #[error("unreadable FLV: {0}")]
    Read(#[from] FlvReadError),
}

/// Reads an FLV file. A truncated last tag (a file still being written) ends the file; encrypted
/// tags and tags of other types are skipped.
pub fn parse(data: &Bytes) -> Result<Source, FlvError> {
    if !data.starts_with(b"FLV") {
        return Err(FlvError::NotFlv);
    }
    if data.len() < HEADER_LEN {
        return Err(FlvError::TruncatedHeader);
    }
    // One copy of the file, which the reader then splits without copying.
    let mut buffer = BytesMut::from(&data[..]);
    let mut reader = FlvDecoder::default();
    let mut tags = Vec::new();
    let mut metadata = None;
    while let Some(tag) = reader.decode(&mut buffer)? {
        // The "filter" (encryption) flag: such a body cannot be passed through.
        if tag.filtered {
            continue;
        }
        let kind = match tag.kind {
            TagKind::Audio => Kind::Audio,
            TagKind::Video => Kind::Video,
            TagKind::Script => {
                if metadata.is_none() {
                    metadata = on_metadata(&tag.body);
                }
                continue;
            }
        };
        let body = tag.body;
        if kind == Kind::Video && is_avc_end_of_sequence(&body) || body.is_empty() {
            continue;
        }
        let sequence_header = is_sequence_header(kind, &body);
        tags.push(Tag {
            kind,
            timestamp_ms: tag.timestamp_ms,
            body,
            sequence_header,
        });
    }
    let first = tags
        .iter()
        .map(|t| t.timestamp_ms)
        .min()
        .ok_or(FlvError::NoMedia)?;
    for tag in &mut tags {
        tag.timestamp_ms -= first;
    }
    let last = tags.iter().map(|t| t.timestamp_ms).max().unwrap_or(0);
    Ok(Source {
        loop_ms: last + frame_ms(&tags),
        tags,
        metadata,
    })
}

/// AVC sequence header (codec 7, packet type 0) or AAC sequence header (format 10, type 0).
fn is_sequence_header(kind: Kind, body: &[u8]) -> bool {
    match kind {
        Kind::Video => flv::classify_video(body) == VideoBody::AvcSequenceHeader,
        Kind::Audio => matches!(
            flv::classify_audio(body),
            AudioBody::AacSequenceHeader { .. }
        ),
    }
}

fn is_avc_end_of_sequence(body: &[u8]) -> bool {
    matches!(body, [first, 2, ..] if first & 0x0f == 7)
}

/// The most common gap between consecutive video timestamps: the frame length.
fn frame_ms(tags: &[Tag]) -> u32 {
    let video: Vec<u32> = tags
        .iter()
        .filter(|t| t.kind == Kind::Video && !t.sequence_header)
        .map(|t| t.timestamp_ms)
        .collect();
    let mut gaps: Vec<u32> = video
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|gap| *gap > 0)
        .collect();
    gaps.sort_unstable();
    // On a tie the shorter gap wins (`max_by_key` keeps the last maximum of the reversed runs).
    gaps.chunk_by(|a, b| a == b)
        .rev()
        .max_by_key(|run| run.len())
        .map_or(DEFAULT_FRAME_MS, |run| run[0])
}

/// The properties of an `onMetaData` script tag (AMF0: the name, then an ECMA array).
fn on_metadata(body: &[u8]) -> Option<StreamMetadata> {
    let mut values = rml_amf0::deserialize(&mut std::io::Cursor::new(body)).ok()?;
    if values.len() < 2 || values[0] != rml_amf0::Amf0Value::Utf8String("onMetaData".into()) {
        return None;
    }
    let properties = values.swap_remove(1).get_object_properties()?;
    let mut metadata = StreamMetadata::new();
    metadata.apply_metadata_values(properties);
    Some(metadata)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rml_amf0::Amf0Value;

    use super::*;

    fn file(tags: &[(u8, u32, &[u8])]) -> Vec<u8> {
        let mut out = vec![b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0];
        for (kind, ts, body) in tags {
            let size = body.len() as u32;
            out.push(*kind);
            out.extend_from_slice(&size.to_be_bytes()[1..]);
            out.extend_from_slice(&ts.to_be_bytes()[1..]);
            out.push((ts >> 24) as u8);
            out.extend_from_slice(&[0, 0, 0]);
            out.extend_from_slice(body);
            out.extend_from_slice(&(11 + size).to_be_bytes());
        }
        out
    }

    fn metadata_body() -> Vec<u8> {
        let mut props = HashMap::new();
        props.insert("width".to_string(), Amf0Value::Number(1280.0));
        props.insert("height".to_string(), Amf0Value::Number(720.0));
        props.insert("framerate".to_string(), Amf0Value::Number(30.0));
        let values = vec![
            Amf0Value::Utf8String("onMetaData".into()),
            Amf0Value::Object(props),
        ];
        rml_amf0::serialize(&values).expect("amf0 serialises")
    }

    #[test]
    fn tags_keep_order_timestamps_and_bodies() {
        let data = Bytes::from(file(&[
            (9, 0, &[0x17, 0, 0, 0, 0, 1]),
            (8, 0, &[0xaf, 0, 0x11, 0x90]),
            (9, 0, &[0x17, 1, 0, 0, 0, 9]),
            (8, 21, &[0xaf, 1, 7]),
            (9, 33, &[0x27, 1, 0, 0, 0, 8]),
            (9, 67, &[0x27, 1, 0, 0, 0, 7]),
        ]));
        let source = parse(&data).expect("parses");
        let got: Vec<(Kind, u32, bool)> = source
            .tags
            .iter()
            .map(|t| (t.kind, t.timestamp_ms, t.sequence_header))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Video, 0, true),
                (Kind::Audio, 0, true),
                (Kind::Video, 0, false),
                (Kind::Audio, 21, false),
                (Kind::Video, 33, false),
                (Kind::Video, 67, false),
            ]
        );
        assert_eq!(&source.tags[3].body[..], &[0xaf, 1, 7]);
        // last timestamp + the most common frame gap (33 ms, not 34)
        assert_eq!(source.loop_ms, 67 + 33);
        assert!(source.metadata.is_none());
    }

    #[test]
    fn extended_timestamp_byte_is_the_high_byte() {
        let data = Bytes::from(file(&[
            (9, 0x0100_0000, &[0x17, 1, 0]),
            (9, 0x0100_0021, &[0x27, 1, 0]),
        ]));
        let source = parse(&data).expect("parses");
        // rebased to the first tag
        assert_eq!(source.tags[1].timestamp_ms, 0x21);
    }

    #[test]
    fn metadata_is_read_and_script_tags_are_not_sent() {
        let meta = metadata_body();
        let data = Bytes::from(file(&[(18, 0, &meta), (9, 0, &[0x17, 1, 0])]));
        let source = parse(&data).expect("parses");
        assert_eq!(source.tags.len(), 1);
        let metadata = source.metadata.expect("onMetaData read");
        assert_eq!(metadata.video_width, Some(1280));
        assert_eq!(metadata.video_height, Some(720));
        assert_eq!(metadata.video_frame_rate, Some(30.0));
    }

    #[test]
    fn end_of_sequence_empty_and_encrypted_tags_are_skipped() {
        let data = Bytes::from(file(&[
            (9, 0, &[0x17, 1, 0]),
            (8, 10, &[]),
            (0x20 | 9, 20, &[0x17, 1, 0]),
            (9, 33, &[0x17, 2, 0, 0, 0]),
        ]));
        let source = parse(&data).expect("parses");
        assert_eq!(source.tags.len(), 1);
    }

    #[test]
    fn truncated_last_tag_ends_the_file() {
        let mut raw = file(&[(9, 0, &[0x17, 1, 0]), (9, 33, &[0x27, 1, 0, 0, 0, 5])]);
        raw.truncate(raw.len() - 7);
        let source = parse(&Bytes::from(raw)).expect("parses");
        assert_eq!(source.tags.len(), 1);
    }

    #[test]
    fn non_flv_and_empty_files_are_refused() {
        assert_eq!(
            parse(&Bytes::from_static(b"GIF89a")).err(),
            Some(FlvError::NotFlv)
        );
        assert_eq!(
            parse(&Bytes::from_static(b"FLV\x01")).err(),
            Some(FlvError::TruncatedHeader)
        );
        assert_eq!(
            parse(&Bytes::from(file(&[]))).err(),
            Some(FlvError::NoMedia)
        );
    }
}
