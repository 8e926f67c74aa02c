//! What the pipeline has learnt about the source so far: codec headers to replay to each new
//! ffmpeg, the picture size that decides the ladder, the audio codec, and a bit-rate estimate for
//! the copied rung's BANDWIDTH. Pure state fed packet by packet.

use bytes::Bytes;

use crate::{
    codec::{
        avc::{self, AvcInfo},
        flv::{self, AudioBody, TagKind, VideoBody},
        metadata::{self, SourceMetadata},
    },
    ladder::argv::AudioPlan,
    MediaPacket,
};

/// How a packet matters to the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Metadata or a sequence header: remembered and replayed to every new ffmpeg.
    Header,
    /// An AVC keyframe: ffmpeg may start (or resume) here.
    KeyFrame,
    /// Any other media packet: only useful once ffmpeg is running.
    Media,
    /// Video ffmpeg's ladder cannot take (not H.264).
    UnsupportedVideo,
}

#[derive(Debug, Default)]
pub struct Source {
    metadata: Option<Bytes>,
    pub announced: SourceMetadata,
    video_header: Option<Bytes>,
    pub avc: Option<AvcInfo>,
    audio_header: Option<Bytes>,
    /// `Some(object type)` for AAC; `None` before an AAC header or for other codecs.
    pub aac_object_type: Option<u8>,
    audio_seen: bool,
    audio_is_aac: bool,
    meter: Meter,
}

/// Video bytes over media time since the first keyframe.
#[derive(Debug, Default)]
struct Meter {
    bytes: u64,
    first_ms: Option<u32>,
    last_ms: u32,
}

impl Source {
    pub fn observe(&mut self, packet: &MediaPacket) -> Role {
        match packet {
            MediaPacket::Metadata { data } => {
                let data = flv::normalize_metadata(data);
                self.announced = metadata::parse(&data);
                self.metadata = Some(data);
                Role::Header
            }
            MediaPacket::Video { timestamp_ms, data } => match flv::classify_video(data) {
                VideoBody::AvcSequenceHeader => {
                    // A header that does not parse still goes to ffmpeg; the size may come
                    // from metadata instead.
                    self.avc =
                        flv::avc_record(data).and_then(|r| avc::parse_decoder_config(r).ok());
                    self.video_header = Some(data.clone());
                    Role::Header
                }
                VideoBody::AvcKeyFrame => {
                    self.meter.add(*timestamp_ms, data.len());
                    Role::KeyFrame
                }
                VideoBody::AvcFrame | VideoBody::AvcOther => {
                    if self.meter.first_ms.is_some() {
                        self.meter.add(*timestamp_ms, data.len());
                    }
                    Role::Media
                }
                VideoBody::Unsupported => Role::UnsupportedVideo,
            },
            MediaPacket::Audio { data, .. } => {
                self.audio_seen = true;
                match flv::classify_audio(data) {
                    AudioBody::AacSequenceHeader { object_type } => {
                        self.audio_is_aac = true;
                        self.aac_object_type = Some(object_type);
                        self.audio_header = Some(data.clone());
                        Role::Header
                    }
                    AudioBody::AacFrame => Role::Media,
                    AudioBody::Other => {
                        self.audio_is_aac = false;
                        Role::Media
                    }
                }
            }
        }
    }

    /// The source picture size: from the SPS, else from `onMetaData`.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.avc.map(|info| (info.width, info.height)).or(
            match (self.announced.width, self.announced.height) {
                (Some(w), Some(h)) if (16..=8192).contains(&w) && (16..=8192).contains(&h) => {
                    Some((w & !1, h & !1))
                }
                _ => None,
            },
        )
    }

    pub fn has_video_header(&self) -> bool {
        self.video_header.is_some()
    }

    /// `onMetaData` promised audio that has not arrived yet: worth waiting a little, because
    /// ffmpeg probes its input for only a second and would start without the audio stream.
    pub fn awaiting_announced_audio(&self) -> bool {
        self.announced.has_audio && !self.audio_seen
    }

    /// Copy AAC; re-encode anything else; nothing when no audio arrived before the start
    /// (mapping an audio stream ffmpeg never saw would make it fail).
    pub fn audio_plan(&self, aac_kbps: u32) -> AudioPlan {
        if !self.audio_seen {
            AudioPlan::None
        } else if self.audio_is_aac {
            AudioPlan::Copy
        } else {
            AudioPlan::Aac { kbps: aac_kbps }
        }
    }

    /// Script, video and audio headers in the order an FLV file carries them.
    pub fn headers(&self) -> Vec<(TagKind, Bytes)> {
        [
            (TagKind::Script, &self.metadata),
            (TagKind::Video, &self.video_header),
            (TagKind::Audio, &self.audio_header),
        ]
        .into_iter()
        .filter_map(|(kind, body)| body.clone().map(|body| (kind, body)))
        .collect()
    }

    /// Video bit rate measured from the packets, once at least half a second was seen.
    pub fn measured_video_kbps(&self) -> Option<u32> {
        let first = self.meter.first_ms?;
        let span = u64::from(self.meter.last_ms.checked_sub(first)?);
        (span >= 500).then(|| u32::try_from(self.meter.bytes * 8 / span).unwrap_or(u32::MAX))
    }
}

impl Meter {
    fn add(&mut self, timestamp_ms: u32, bytes: usize) {
        self.first_ms.get_or_insert(timestamp_ms);
        self.last_ms = self.last_ms.max(timestamp_ms);
        self.bytes = self.bytes.saturating_add(bytes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video_header() -> MediaPacket {
        let mut body = vec![0x17, 0, 0, 0, 0];
        body.extend(
            hex::decode(
                "0142c01fffe100176742c01fda014016ec0440000003004000000f03c60ca801000468ce0fc8",
            )
            .expect("hex"),
        );
        MediaPacket::Video {
            timestamp_ms: 0,
            data: body.into(),
        }
    }

    fn frame(key: bool, timestamp_ms: u32, size: usize) -> MediaPacket {
        let mut body = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        body.resize(size, 0);
        MediaPacket::Video {
            timestamp_ms,
            data: body.into(),
        }
    }

    #[test]
    fn learns_size_codecs_and_audio_from_headers() {
        let mut source = Source::default();
        assert_eq!(source.observe(&video_header()), Role::Header);
        let audio = MediaPacket::Audio {
            timestamp_ms: 0,
            data: Bytes::from_static(&[0xaf, 0, 0x12, 0x10]),
        };
        assert_eq!(source.observe(&audio), Role::Header);
        assert_eq!(source.size(), Some((1280, 720)));
        assert_eq!(source.aac_object_type, Some(2));
        assert_eq!(source.audio_plan(128), AudioPlan::Copy);
        let kinds: Vec<TagKind> = source.headers().into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [TagKind::Video, TagKind::Audio]);
    }

    #[test]
    fn non_aac_audio_is_reencoded_and_missing_audio_is_left_out() {
        let mut source = Source::default();
        assert_eq!(source.audio_plan(96), AudioPlan::None);
        source.observe(&MediaPacket::Audio {
            timestamp_ms: 0,
            data: Bytes::from_static(&[0x2f, 0xff, 0xfb]),
        });
        assert_eq!(source.audio_plan(96), AudioPlan::Aac { kbps: 96 });
    }

    #[test]
    fn keyframes_are_start_points_and_bitrate_is_measured() {
        let mut source = Source::default();
        source.observe(&video_header());
        assert_eq!(source.observe(&frame(false, 10, 1000)), Role::Media);
        assert_eq!(source.measured_video_kbps(), None);
        assert_eq!(source.observe(&frame(true, 1000, 125_000)), Role::KeyFrame);
        assert_eq!(source.observe(&frame(false, 2000, 125_000)), Role::Media);
        // 250 kB over 1 s = 2000 kb/s.
        assert_eq!(source.measured_video_kbps(), Some(2000));
    }

    #[test]
    fn announced_audio_is_awaited_until_it_arrives() {
        let mut source = Source::default();
        source.announced.has_audio = true;
        assert!(source.awaiting_announced_audio());
        assert_eq!(
            source.audio_plan(128),
            AudioPlan::None,
            "never map unseen audio"
        );
        source.observe(&MediaPacket::Audio {
            timestamp_ms: 0,
            data: Bytes::from_static(&[0xaf, 0, 0x12, 0x10]),
        });
        assert!(!source.awaiting_announced_audio());
        assert_eq!(source.audio_plan(128), AudioPlan::Copy);
    }

    #[test]
    fn hevc_is_reported_as_unsupported() {
        let mut source = Source::default();
        let hevc = MediaPacket::Video {
            timestamp_ms: 0,
            data: Bytes::from_static(&[0x1c, 0, 0, 0, 0]),
        };
        assert_eq!(source.observe(&hevc), Role::UnsupportedVideo);
    }
}
