//! Cuts the source's own H.264/AAC into MPEG-TS segments without ffmpeg: the passthrough
//! rendition, remuxed in-process (no decoding, no encoding, no child process per stream).
//!
//! Segments start at keyframes and follow ffmpeg's HLS muxer rule, so they line up with the
//! transcoded rungs' segments (which take their keyframes from the source): a segment ends at
//! the first keyframe whose time since the start reaches the next multiple of the target
//! length, within half a frame (encoders round timestamps to whole milliseconds). A timestamp jump (the publisher's clock restarted) starts a new segment behind a
//! discontinuity. Pure: packets in, finished segments out.
//!
//! With a part length set, each segment is also cut into partial segments for low-latency HLS
//! (`EXT-X-PART`): a part closes before the picture that would take it past the part length, so
//! no part is longer than the advertised `PART-TARGET`, and a segment's end closes its last part.
//! Every part opens with the PAT and PMT, so a player can start at any part that begins with a
//! keyframe; a segment is its parts back to back, byte for byte.

use bytes::Bytes;

use crate::{
    codec::{
        adts::{AacConfig, AdtsError},
        annexb::ParameterSets,
        flv::{self, AudioBody, TagKind, VideoBody},
    },
    ts::writer::{TsWriteError, TsWriter, Unit},
    MediaPacket,
};

/// Timestamps start here (in ms) so a negative composition offset never goes below zero; the
/// same 1.4 s ffmpeg's muxer uses.
const TIMESTAMP_OFFSET_MS: i64 = 1400;
/// A gap or step back this large in the video clock is a new timeline, not late packets.
const MAX_CLOCK_JUMP_MS: i64 = 10_000;
/// A source that sends no keyframe for this long still gets segments (cut mid-GOP), so memory
/// and playlist latency stay bounded.
const MAX_SEGMENT_MS: i64 = 20_000;
const MAX_SEGMENT_BYTES: usize = 64 << 20;
/// Assumed duration of the very last frame (unknown, as nothing follows it).
const DEFAULT_FRAME_MS: i64 = 33;

#[derive(Debug, thiserror::Error)]
pub enum SegmenterError {
    #[error("the source has no usable H.264 decoder configuration")]
    NoVideoConfig,
    #[error("the source audio cannot be remuxed natively: {0}")]
    Audio(String),
    #[error(transparent)]
    Write(#[from] TsWriteError),
}

/// A finished segment.
#[derive(Debug)]
pub struct Segment {
    /// When its first picture is, on the stream's clock (ms).
    pub start_ms: i64,
    pub duration_ms: u64,
    /// Follows a timestamp jump: the playlist puts `#EXT-X-DISCONTINUITY` before it.
    pub discontinuity: bool,
    /// The segment's bytes: its parts in order, or one chunk when it is not cut into parts.
    pub chunks: Vec<Bytes>,
}

#[cfg(test)]
impl Segment {
    fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }
}

/// A finished partial segment of the segment in progress.
#[derive(Debug, Clone)]
pub struct Part {
    pub duration_ms: u64,
    /// Begins with a keyframe: a player may start here.
    pub independent: bool,
    pub bytes: Bytes,
}

/// What one packet completed: a part, and the segment it ended (whose last part is `part`).
#[derive(Debug, Default)]
pub struct Cut {
    pub part: Option<Part>,
    pub segment: Option<Segment>,
}

pub struct Segmenter {
    target_ms: i64,
    video: ParameterSets,
    /// `None` when the rendition carries no audio.
    audio: Option<AacConfig>,
    writer: TsWriter,
    clock: Clock,
    open: Option<Open>,
    /// Presentation time of the keyframe that began the current run of segments.
    anchor_ms: i64,
    /// Segments cut since the anchor.
    cuts: i64,
    last_video_dts: Option<i64>,
    frame_ms: i64,
    /// A jump closed the last run: the next segment, whenever a keyframe starts it, follows a
    /// discontinuity.
    discontinuity_pending: bool,
    /// Part length, when segments are cut into parts.
    part_ms: Option<i64>,
    /// Sizes of the last chunks: the next one is allocated that big at once, not grown.
    last_chunk_bytes: ChunkSizes,
    /// One audio frame in its ADTS form, reused for every frame.
    scratch: Vec<u8>,
}

/// The size of the last chunk that began with a keyframe and of the last that did not, to size
/// the next one of its kind with a quarter more. With parts, a segment's first part holds the
/// keyframe and is several times the size of the others; and a chunk allocated exactly as big
/// as the one before is outgrown by every second one. Either way the vector doubled, copying
/// the chunk again: ≈ 6 % of the ingest's CPU at 300 streams (perf), and up to twice the
/// memory held.
#[derive(Debug, Default, Clone, Copy)]
struct ChunkSizes {
    keyframe: usize,
    other: usize,
}

impl ChunkSizes {
    fn of(self, keyframe: bool) -> usize {
        let last = if keyframe { self.keyframe } else { self.other };
        last + last / 4
    }

    fn record(&mut self, keyframe: bool, len: usize) {
        *(if keyframe {
            &mut self.keyframe
        } else {
            &mut self.other
        }) = len;
    }
}

struct Open {
    start_ms: i64,
    discontinuity: bool,
    /// Parts already closed.
    parts: Vec<Bytes>,
    /// The part (or, without parts, the segment) being written.
    part_start_ms: i64,
    part_independent: bool,
    bytes: Vec<u8>,
}

impl Open {
    fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum::<usize>() + self.bytes.len()
    }

    /// `bytes`, the part being written until `end_ms`, joins the segment's closed parts.
    fn seal_part(&mut self, end_ms: i64, bytes: Bytes) -> Part {
        self.parts.push(bytes.clone());
        Part {
            duration_ms: u64::try_from(end_ms - self.part_start_ms).unwrap_or(0),
            independent: self.part_independent,
            bytes,
        }
    }
}

impl Segmenter {
    /// Builds from the headers the source sent before its first keyframe. With `audio` the
    /// rendition carries the source's AAC, whose config must then be among the headers.
    pub fn from_headers(
        headers: &[(TagKind, Bytes)],
        audio: bool,
        target_ms: u32,
    ) -> Result<Self, SegmenterError> {
        let video = headers
            .iter()
            .filter(|(kind, _)| *kind == TagKind::Video)
            .find_map(|(_, body)| flv::avc_record(body))
            .map(ParameterSets::from_record)
            .ok_or(SegmenterError::NoVideoConfig)?
            .map_err(|_| SegmenterError::NoVideoConfig)?;
        let audio = if audio {
            let config = headers
                .iter()
                .filter(|(kind, _)| *kind == TagKind::Audio)
                .find_map(|(_, body)| aac_config(body))
                .ok_or_else(|| SegmenterError::Audio("no AAC sequence header".into()))?
                .map_err(|error| SegmenterError::Audio(error.to_string()))?;
            Some(config)
        } else {
            None
        };
        Ok(Self {
            target_ms: i64::from(target_ms.max(1)),
            video,
            writer: TsWriter::new(audio.is_some()),
            audio,
            clock: Clock::default(),
            open: None,
            anchor_ms: 0,
            cuts: 0,
            last_video_dts: None,
            frame_ms: DEFAULT_FRAME_MS,
            discontinuity_pending: false,
            part_ms: None,
            last_chunk_bytes: ChunkSizes::default(),
            scratch: Vec::new(),
        })
    }

    /// Marks the first segment this segmenter cuts as following a discontinuity: it continues a
    /// playlist another publisher (or another encoder run) began, on a timeline of its own.
    pub fn after_discontinuity(mut self) -> Self {
        self.discontinuity_pending = true;
        self
    }

    /// Cuts each segment into parts of at most `part_ms` (low-latency HLS).
    pub fn with_parts(mut self, part_ms: u32) -> Self {
        self.part_ms = Some(i64::from(part_ms.max(1)));
        self
    }

    /// Takes one packet; returns the part and segment it completed, if any. Malformed pictures
    /// and frames are skipped (as a decoder would), never fatal.
    pub fn push(&mut self, packet: &MediaPacket) -> Result<Cut, SegmenterError> {
        match packet {
            MediaPacket::Metadata { .. } => Ok(Cut::default()),
            MediaPacket::Video { timestamp_ms, data } => match flv::classify_video(data) {
                VideoBody::AvcSequenceHeader => {
                    // A new configuration mid-stream (encoder restarted): use it from now on.
                    if let Some(Ok(sets)) = flv::avc_record(data).map(ParameterSets::from_record) {
                        self.video = sets;
                    }
                    Ok(Cut::default())
                }
                VideoBody::AvcKeyFrame => self.video_frame(*timestamp_ms, data, true),
                VideoBody::AvcFrame => self.video_frame(*timestamp_ms, data, false),
                VideoBody::AvcOther | VideoBody::Unsupported => Ok(Cut::default()),
            },
            MediaPacket::Audio { timestamp_ms, data } => {
                if self.audio.is_none() {
                    return Ok(Cut::default());
                }
                match flv::classify_audio(data) {
                    AudioBody::AacSequenceHeader { .. } => {
                        if let Some(Ok(config)) = aac_config(data) {
                            self.audio = Some(config);
                        }
                        Ok(Cut::default())
                    }
                    // A 1-byte body classifies as a frame too: it simply carries no audio.
                    AudioBody::AacFrame => {
                        if let Some(raw) = data.get(2..) {
                            self.audio_frame(*timestamp_ms, raw)?;
                        }
                        Ok(Cut::default())
                    }
                    AudioBody::Other => Ok(Cut::default()),
                }
            }
        }
    }

    /// The segment in progress (and its last part), closed at the end of the stream.
    pub fn finish(&mut self) -> Cut {
        match self.last_video_dts {
            Some(last) => self.close(last + self.frame_ms),
            None => Cut::default(),
        }
    }

    fn video_frame(
        &mut self,
        timestamp_ms: u32,
        body: &[u8],
        keyframe: bool,
    ) -> Result<Cut, SegmenterError> {
        // Body: frame type/codec, packet type, 24-bit signed composition offset, NAL units.
        let (Some(offset), Some(nals)) = (body.get(2..5), body.get(5..)) else {
            return Ok(Cut::default());
        };
        let composition = (i32::from_be_bytes([offset[0], offset[1], offset[2], 0]) >> 8) as i64;
        let dts = self.clock.extend(timestamp_ms);
        let pts = dts + composition;

        let jumped = self
            .last_video_dts
            .is_some_and(|last| dts < last - 1000 || dts > last + MAX_CLOCK_JUMP_MS);
        let mut completed = Cut::default();
        if jumped {
            let end = self.last_video_dts.unwrap_or(dts) + self.frame_ms;
            completed = self.close(end);
            self.discontinuity_pending = true;
        } else if let Some(last) = self.last_video_dts.filter(|last| dts > *last) {
            self.frame_ms = (dts - last).min(1000);
        }
        self.last_video_dts = Some(dts);

        let starts_run = self.open.is_none();
        // FLV timestamps are whole milliseconds, so encoders round: OBS's first two keyframes
        // come 999 ms apart at a 1 s keyframe interval. A keyframe within half a frame of the
        // due time is on time; a strict comparison would skip it and make a double segment.
        let tolerance = self.frame_ms / 2;
        let due = keyframe && pts - self.anchor_ms + tolerance >= self.target_ms * (self.cuts + 1);
        let forced = self.open.as_ref().is_some_and(|open| {
            dts - open.start_ms >= MAX_SEGMENT_MS.max(self.target_ms * 10)
                || open.len() >= MAX_SEGMENT_BYTES
        });
        if starts_run {
            if !keyframe {
                // Nothing decodes before the first keyframe of a run.
                return Ok(completed);
            }
            self.anchor_ms = pts;
            self.cuts = 0;
            let discontinuity = std::mem::take(&mut self.discontinuity_pending);
            self.begin(dts, discontinuity)?;
        } else if due || forced {
            completed = self.close(dts);
            self.cuts += 1;
            self.begin(dts, false)?;
        } else if self.part_is_full(dts) {
            completed.part = self.close_part(dts, keyframe)?;
        }

        let Ok(pieces) = self.video.access_unit(nals, keyframe) else {
            return Ok(completed);
        };
        let unit = Unit {
            pts: ticks(pts),
            dts: ticks(dts),
            keyframe,
            data: &pieces,
        };
        if let Some(open) = self.open.as_mut() {
            self.writer.video(&unit, &mut open.bytes)?;
        }
        Ok(completed)
    }

    fn audio_frame(&mut self, timestamp_ms: u32, raw: &[u8]) -> Result<(), SegmenterError> {
        let pts = self.clock.extend(timestamp_ms);
        let (Some(config), Some(open)) = (self.audio, self.open.as_mut()) else {
            return Ok(());
        };
        self.scratch.clear();
        if config.frame(raw, &mut self.scratch).is_ok() {
            self.writer
                .audio(ticks(pts), &self.scratch, &mut open.bytes)?;
        }
        Ok(())
    }

    /// Whether the picture at `dts` (lasting about one frame) would take the open part past the
    /// part length.
    fn part_is_full(&self, dts: i64) -> bool {
        match (self.part_ms, &self.open) {
            (Some(part_ms), Some(open)) => dts + self.frame_ms - open.part_start_ms > part_ms,
            _ => false,
        }
    }

    fn begin(&mut self, start_ms: i64, discontinuity: bool) -> Result<(), SegmenterError> {
        let mut bytes = Vec::with_capacity(self.last_chunk_bytes.of(true));
        self.writer.tables(&mut bytes)?;
        self.open = Some(Open {
            start_ms,
            discontinuity,
            parts: Vec::new(),
            part_start_ms: start_ms,
            part_independent: true,
            bytes,
        });
        Ok(())
    }

    /// Closes the open part at `end_ms` and opens the next, which starts with `keyframe`.
    fn close_part(&mut self, end_ms: i64, keyframe: bool) -> Result<Option<Part>, SegmenterError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(None);
        };
        let mut next = Vec::with_capacity(self.last_chunk_bytes.of(keyframe));
        self.writer.tables(&mut next)?;
        let bytes = Bytes::from(std::mem::replace(&mut open.bytes, next));
        self.last_chunk_bytes
            .record(open.part_independent, bytes.len());
        let part = open.seal_part(end_ms, bytes);
        open.part_start_ms = end_ms;
        open.part_independent = keyframe;
        Ok(Some(part))
    }

    fn close(&mut self, end_ms: i64) -> Cut {
        let Some(mut open) = self.open.take() else {
            return Cut::default();
        };
        let last = Bytes::from(std::mem::take(&mut open.bytes));
        self.last_chunk_bytes
            .record(open.part_independent, last.len());
        let part = open.seal_part(end_ms, last);
        Cut {
            part: self.part_ms.map(|_| part),
            segment: Some(Segment {
                start_ms: open.start_ms,
                duration_ms: u64::try_from(end_ms - open.start_ms).unwrap_or(0),
                discontinuity: open.discontinuity,
                chunks: open.parts,
            }),
        }
    }
}

fn aac_config(body: &[u8]) -> Option<Result<AacConfig, AdtsError>> {
    match flv::classify_audio(body) {
        AudioBody::AacSequenceHeader { .. } => Some(AacConfig::parse(body.get(2..)?)),
        _ => None,
    }
}

/// Milliseconds on the stream's clock to 90 kHz ticks.
fn ticks(ms: i64) -> u64 {
    u64::try_from(ms + TIMESTAMP_OFFSET_MS).unwrap_or(0) * 90
}

/// RTMP timestamps are 32-bit milliseconds that wrap after ≈ 49.7 days and may step back a
/// little between audio and video: extended by signed differences to one 64-bit clock.
#[derive(Debug, Default)]
struct Clock {
    last: Option<(u32, i64)>,
}

impl Clock {
    fn extend(&mut self, raw: u32) -> i64 {
        let extended = match self.last {
            None => i64::from(raw),
            Some((last_raw, last)) => last + i64::from(raw.wrapping_sub(last_raw) as i32),
        };
        self.last = Some((raw, extended));
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPS/PPS record with 4-byte lengths.
    const RECORD: [u8; 19] = [
        1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x0f,
        0xc8,
    ];

    fn headers(audio: bool) -> Vec<(TagKind, Bytes)> {
        let mut video = vec![0x17, 0, 0, 0, 0];
        video.extend_from_slice(&RECORD);
        let mut headers = vec![(TagKind::Video, Bytes::from(video))];
        if audio {
            headers.push((TagKind::Audio, Bytes::from_static(&[0xaf, 0, 0x12, 0x10])));
        }
        headers
    }

    fn picture(at: u32, keyframe: bool) -> MediaPacket {
        let first = if keyframe { 0x17 } else { 0x27 };
        let nal = if keyframe { 0x65 } else { 0x41 };
        MediaPacket::Video {
            timestamp_ms: at,
            data: Bytes::from(vec![first, 1, 0, 0, 0, 0, 0, 0, 2, nal, 0x88]),
        }
    }

    fn sound(at: u32) -> MediaPacket {
        MediaPacket::Audio {
            timestamp_ms: at,
            data: Bytes::from_static(&[0xaf, 1, 0x21, 0x10, 0x04]),
        }
    }

    /// 30 fps for `seconds`, keyframes every `gop_ms`, audio every 23 ms; the segments cut.
    fn run(segmenter: &mut Segmenter, from_ms: u32, seconds: u32, gop_ms: u32) -> Vec<Segment> {
        let mut segments = Vec::new();
        let mut audio_at = from_ms;
        for frame in 0..seconds * 30 {
            let at = from_ms + frame * 1000 / 30;
            while audio_at <= at {
                segments.extend(segmenter.push(&sound(audio_at)).expect("audio").segment);
                audio_at += 23;
            }
            let keyframe = (at - from_ms) % gop_ms < 1000 / 30;
            segments.extend(
                segmenter
                    .push(&picture(at, keyframe))
                    .expect("video")
                    .segment,
            );
        }
        segments
    }

    fn durations(segments: &[Segment]) -> Vec<u64> {
        segments.iter().map(|segment| segment.duration_ms).collect()
    }

    #[test]
    fn cuts_at_every_keyframe_once_the_target_is_reached() {
        let mut segmenter = Segmenter::from_headers(&headers(true), true, 1000).expect("ready");
        let mut segments = run(&mut segmenter, 0, 5, 1000);
        segments.extend(segmenter.finish().segment);
        assert_eq!(durations(&segments), [1000, 1000, 1000, 1000, 999]);
        for segment in &segments {
            assert_eq!(segment.len() % 188, 0);
            // Each segment stands alone: it opens with the PAT (PID 0, unit start).
            assert_eq!(segment.chunks[0][..3], [0x47, 0x40, 0x00]);
            assert!(!segment.discontinuity);
        }
    }

    /// Pictures every 33–34 ms from `keyframes[0]` until `end_ms`, keyframes at those times.
    fn pictures_with_keyframes(keyframes: &[u32], end_ms: u32) -> Vec<(u32, bool)> {
        let start = keyframes[0];
        let mut pictures = Vec::new();
        let mut frame = 0u32;
        loop {
            let at = start + frame * 1000 / 30;
            if at >= end_ms {
                break;
            }
            // The picture nearest each keyframe time is that keyframe, at its time.
            match keyframes
                .iter()
                .find(|k| at <= **k && **k < at + 1000 / 30 + 1)
            {
                Some(k) => pictures.push((*k, true)),
                None => pictures.push((at, false)),
            }
            frame += 1;
        }
        pictures.dedup_by_key(|(at, _)| *at);
        pictures
    }

    /// A picture with its decode time and presentation time (B-frames: they differ).
    fn picture_at(pts: u32, dts: u32, keyframe: bool) -> MediaPacket {
        let first = if keyframe { 0x17 } else { 0x27 };
        let nal = if keyframe { 0x65 } else { 0x41 };
        let offset = (pts as i32 - dts as i32).to_be_bytes();
        MediaPacket::Video {
            timestamp_ms: dts,
            data: Bytes::from(vec![
                first, 1, offset[1], offset[2], offset[3], 0, 0, 0, 2, nal, 0x88,
            ]),
        }
    }

    /// Captured from OBS Studio 29 (keyframe interval 1 s, 30 fps, x264 with B-frames): its first
    /// two keyframes are 999 ms apart (pts 66 and 1 065), every later pair 1 000 ms.
    const OBS_CAPTURE: &str = include_str!("testdata/obs29_keyint1_360p30.csv");

    fn obs_capture() -> Vec<(u32, u32, bool)> {
        OBS_CAPTURE
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| {
                let mut fields = line.split(',');
                let mut number = || fields.next().and_then(|f| f.parse().ok()).expect("ms");
                let (pts, dts) = (number(), number());
                (pts, dts, line.ends_with('K'))
            })
            .collect()
    }

    #[test]
    fn obs_keyframes_rounded_to_999_ms_still_cut_one_second_segments() {
        let capture = obs_capture();
        let keyframes: Vec<u32> = capture.iter().filter(|p| p.2).map(|p| p.0).collect();
        assert_eq!(
            keyframes[..3],
            [66, 1065, 2065],
            "the capture shows the rounding"
        );
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        let mut segments = Vec::new();
        for (pts, dts, keyframe) in capture {
            segments.extend(
                segmenter
                    .push(&picture_at(pts, dts, keyframe))
                    .expect("video")
                    .segment,
            );
        }
        // One segment per keyframe interval, the first one included (not 2 s, as when the
        // keyframe 999 ms after the first was skipped).
        assert_eq!(durations(&segments), [999, 1000, 1000, 1000, 1000, 1000]);
    }

    #[test]
    fn a_keyframe_more_than_half_a_frame_early_waits_for_the_next() {
        // A keyframe 40 ms before the due time (more than half of a 33 ms frame) is not on
        // time: the segment runs on to the next keyframe, as ffmpeg's muxer would.
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        let mut segments = Vec::new();
        for (at, keyframe) in pictures_with_keyframes(&[0, 960, 2000, 3000], 3_500) {
            segments.extend(
                segmenter
                    .push(&picture(at, keyframe))
                    .expect("video")
                    .segment,
            );
        }
        assert_eq!(durations(&segments), [2000, 1000]);
    }

    #[test]
    fn parts_never_pass_the_part_length_and_make_up_their_segment() {
        let mut segmenter = Segmenter::from_headers(&headers(true), true, 1000)
            .expect("ready")
            .with_parts(334);
        let mut parts: Vec<Part> = Vec::new();
        let mut segments = Vec::new();
        let mut audio_at = 0;
        for frame in 0..3 * 30 {
            let at = frame * 1000 / 30;
            while audio_at <= at {
                let cut = segmenter.push(&sound(audio_at)).expect("audio");
                assert!(
                    cut.part.is_none() && cut.segment.is_none(),
                    "audio never cuts"
                );
                audio_at += 23;
            }
            let cut = segmenter
                .push(&picture(at, at % 1000 < 1000 / 30))
                .expect("video");
            parts.extend(cut.part);
            segments.extend(cut.segment);
        }
        let cut = segmenter.finish();
        parts.extend(cut.part);
        segments.extend(cut.segment);

        assert_eq!(durations(&segments), [1000, 1000, 999]);
        assert_eq!(parts.len(), 9, "three parts per second");
        assert!(parts
            .iter()
            .all(|part| (300..=334).contains(&part.duration_ms)));
        for (segment, its_parts) in segments.iter().zip(parts.chunks(3)) {
            let sum: u64 = its_parts.iter().map(|part| part.duration_ms).sum();
            assert_eq!(sum, segment.duration_ms);
        }
        let independent: Vec<bool> = parts.iter().map(|part| part.independent).collect();
        assert_eq!(independent, [true, false, false].repeat(3));
        for (segment, its_parts) in segments.iter().zip(parts.chunks(3)) {
            let joined: Vec<u8> = its_parts
                .iter()
                .flat_map(|part| part.bytes.to_vec())
                .collect();
            let whole: Vec<u8> = segment
                .chunks
                .iter()
                .flat_map(|chunk| chunk.to_vec())
                .collect();
            assert_eq!(joined, whole, "a segment is its parts back to back");
        }
        for part in &parts {
            assert_eq!(part.bytes.len() % 188, 0);
            // Each part opens with the PAT, so a player can start at any independent one.
            assert_eq!(part.bytes[..3], [0x47, 0x40, 0x00]);
        }
    }

    #[test]
    fn without_parts_a_segment_is_one_chunk_and_no_part_is_cut() {
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        for frame in 0..60 {
            let at = frame * 1000 / 30;
            let cut = segmenter.push(&picture(at, at % 1000 < 34)).expect("video");
            assert!(cut.part.is_none());
            if let Some(segment) = cut.segment {
                assert_eq!(segment.chunks.len(), 1);
            }
        }
    }

    #[test]
    fn a_long_gop_makes_segments_as_long_as_the_gop() {
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        let segments = run(&mut segmenter, 0, 7, 2000);
        assert_eq!(durations(&segments), [2000, 2000, 2000]);
    }

    #[test]
    fn waits_for_the_first_keyframe() {
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        assert!(segmenter
            .push(&picture(0, false))
            .expect("ok")
            .segment
            .is_none());
        assert!(
            segmenter.finish().segment.is_none(),
            "nothing before a keyframe"
        );
        let segments = run(&mut segmenter, 100, 3, 1000);
        assert_eq!(durations(&segments), [1000, 1000]);
    }

    #[test]
    fn a_clock_that_restarts_begins_a_segment_behind_a_discontinuity() {
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        let mut segments = run(&mut segmenter, 60_000, 2, 1000);
        segments.extend(run(&mut segmenter, 0, 2, 1000));
        let flags: Vec<bool> = segments.iter().map(|s| s.discontinuity).collect();
        assert_eq!(flags, [false, false, true]);
        // The segment cut by the jump ends one frame after its last picture.
        assert_eq!(durations(&segments), [1000, 999, 1000]);
    }

    #[test]
    fn a_jump_to_a_picture_that_is_no_keyframe_still_marks_the_next_segment() {
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        let mut segments = run(&mut segmenter, 60_000, 2, 1000);
        // The restarted clock resumes mid-GOP: nothing until its first keyframe at 500 ms.
        for at in (0..500).step_by(33) {
            segments.extend(segmenter.push(&picture(at, false)).expect("video").segment);
        }
        segments.extend(run(&mut segmenter, 500, 2, 1000));
        let flags: Vec<bool> = segments.iter().map(|s| s.discontinuity).collect();
        assert_eq!(flags, [false, false, true]);
    }

    #[test]
    fn rtmp_clock_wrap_is_not_a_jump() {
        let mut clock = Clock::default();
        assert_eq!(clock.extend(u32::MAX - 10), i64::from(u32::MAX - 10));
        assert_eq!(clock.extend(5), i64::from(u32::MAX) + 6);
        assert_eq!(
            clock.extend(3),
            i64::from(u32::MAX) + 4,
            "a small step back"
        );
    }

    #[test]
    fn malformed_pictures_are_skipped() {
        let mut segmenter = Segmenter::from_headers(&headers(false), false, 1000).expect("ready");
        let broken = MediaPacket::Video {
            timestamp_ms: 0,
            data: Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 99, 0x65]),
        };
        assert!(segmenter.push(&broken).expect("skipped").segment.is_none());
        let short = MediaPacket::Video {
            timestamp_ms: 0,
            data: Bytes::from_static(&[0x17, 1]),
        };
        assert!(segmenter.push(&short).expect("skipped").segment.is_none());
        let segments = run(&mut segmenter, 0, 2, 1000);
        assert_eq!(durations(&segments), [1000]);
    }

    /// Publishers are untrusted: any bytes in any packet may cost a frame, never a panic, and
    /// what comes out is still whole TS packets.
    #[test]
    fn random_packets_never_panic_and_segments_stay_whole_packets() {
        use rand::{Rng, SeedableRng};
        let mut random = rand::rngs::StdRng::seed_from_u64(7);
        let mut segmenter = Segmenter::from_headers(&headers(true), true, 1000).expect("ready");
        let mut segments = Vec::new();
        for n in 0..5000u32 {
            let length = random.gen_range(0..64);
            let mut data: Vec<u8> = (0..length).map(|_| random.gen::<u8>()).collect();
            // Steer a share of them into the AVC and AAC branches.
            match (n % 3, data.first_mut()) {
                (0, Some(first)) => *first = if n % 2 == 0 { 0x17 } else { 0x27 },
                (1, Some(first)) => *first = 0xaf,
                _ => {}
            }
            let at = n * 10 + random.gen_range(0..20);
            let packet = if n % 2 == 0 {
                MediaPacket::Video {
                    timestamp_ms: at,
                    data: Bytes::from(data),
                }
            } else {
                MediaPacket::Audio {
                    timestamp_ms: at,
                    data: Bytes::from(data),
                }
            };
            segments.extend(segmenter.push(&packet).expect("never an error").segment);
        }
        segments.extend(segmenter.finish().segment);
        assert!(!segments.is_empty(), "random keyframes still cut segments");
        assert!(segments.iter().all(|s| s.len() % 188 == 0));
    }

    #[test]
    fn refuses_sources_it_cannot_remux() {
        assert!(matches!(
            Segmenter::from_headers(&[], false, 1000),
            Err(SegmenterError::NoVideoConfig)
        ));
        let no_audio_header = headers(false);
        assert!(matches!(
            Segmenter::from_headers(&no_audio_header, true, 1000),
            Err(SegmenterError::Audio(_))
        ));
        let mut he_aac = headers(false);
        he_aac.push((TagKind::Audio, Bytes::from_static(&[0xaf, 0, 0x2b, 0x92])));
        assert!(matches!(
            Segmenter::from_headers(&he_aac, true, 1000),
            Err(SegmenterError::Audio(_))
        ));
    }
}
