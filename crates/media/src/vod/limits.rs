//! What the platform accepts, decided from ffprobe's report alone, before a single frame is
//! decoded: a "decompression bomb" (16 000 × 16 000, or a 1 × 1 picture for ten hours) costs no
//! more to refuse than a good file costs to accept.
//!
//! A refusal says what is wrong in words the uploader can act on; an accepted file becomes a
//! [`Source`], the few facts the plan needs, with every `Option` of the probe resolved.

use std::{fmt, time::Duration};

use super::probe::{display_size, Probe, Rational};

/// The limits of an upload. Configurable; the defaults take anything a phone or camera makes up
/// to 4K60 and two hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Display size, either orientation: a portrait 2160×3840 is as large as a landscape 4K.
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    /// The smallest picture side worth a ladder.
    pub min_side: u32,
    pub max_duration: Duration,
    pub min_duration: Duration,
    pub max_fps: f64,
    /// Bits per second of the whole file.
    pub max_bitrate: u64,
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_width: 3840,
            max_height: 2160,
            max_pixels: 3840 * 2160,
            min_side: 16,
            max_duration: Duration::from_secs(2 * 60 * 60),
            min_duration: Duration::from_millis(500),
            max_fps: 120.0,
            max_bitrate: 200_000_000,
            max_streams: 16,
        }
    }
}

/// The accepted source: what the plan is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Coded picture size, before rotation.
    pub width: u32,
    pub height: u32,
    /// Clockwise quarter turns on display, in degrees (0, 90, 180, 270).
    pub rotation: u16,
    /// Non-square pixels' aspect ratio; `None` for square.
    pub sar: Option<Rational>,
    pub duration: Duration,
    /// The mean frame rate.
    pub fps: f64,
    pub variable_frame_rate: bool,
    pub video_codec: String,
    pub pix_fmt: String,
    pub bit_depth: u8,
    /// The video stream's own rate, else the file's, in bits per second.
    pub video_bit_rate: Option<u64>,
    pub audio: Option<SourceAudio>,
    /// The longest time between keyframes, when the worker measured it
    /// ([`super::argv::keyframes`], [`super::probe::longest_keyframe_gap`]); [`check`] leaves
    /// it `None`, and the plan then trusts the source's keyframes.
    pub keyframe_gap: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAudio {
    pub codec: String,
    pub channels: Option<u32>,
}

impl Source {
    /// Size as shown: rotation applied.
    pub fn display_size(&self) -> (u32, u32) {
        display_size(self.width, self.height, self.sar, self.rotation)
    }

    /// H.264 in 8-bit 4:2:0, the only video every browser decodes: anything else is transcoded.
    pub fn browser_ready_video(&self) -> bool {
        self.video_codec == "h264" && self.bit_depth == 8 && self.pix_fmt == "yuv420p"
    }
}

/// Why a file is not accepted; its `Display` is the sentence shown to the uploader.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// ffprobe recognised no media at all.
    NotMedia,
    AudioOnly,
    /// Media streams, none of them video (subtitles or data only).
    NoVideo,
    UnknownSize,
    TooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    TooSmall {
        width: u32,
        height: u32,
        min_side: u32,
    },
    UnknownDuration,
    TooShort {
        duration: Duration,
        min: Duration,
    },
    TooLong {
        duration: Duration,
        max: Duration,
    },
    UnknownFrameRate,
    FrameRateTooHigh {
        fps: f64,
        max: f64,
    },
    BitrateTooHigh {
        bits_per_second: u64,
        max: u64,
    },
    TooManyStreams {
        count: usize,
        max: usize,
    },
    UnknownCodec,
    /// A container ffmpeg can read but an upload must not be: playlists (`hls`), scripts
    /// (`concat`), image sequences... would make ffmpeg open other files or URLs.
    Container(String),
}

/// The containers of real video files, by ffprobe's first `format_name`.
pub const ACCEPTED_CONTAINERS: &[&str] = &[
    "mov",
    "matroska",
    "avi",
    "flv",
    "mpegts",
    "mpeg",
    "asf",
    "ogg",
    "mxf",
    "h264",
    "hevc",
    "m4v",
    "mpegvideo",
    "webm",
    "3gp",
];

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMedia => f.write_str(
                "not a video: the file is not in a media format we can read (is it a video file, \
                 and complete?)",
            ),
            Self::AudioOnly => f.write_str(
                "not a video: the file has sound but no picture (audio-only files are not \
                 accepted)",
            ),
            Self::NoVideo => f.write_str("not a video: no video stream"),
            Self::UnknownSize => {
                f.write_str("the video's picture size cannot be read; re-export it and try again")
            }
            Self::TooLarge {
                width,
                height,
                max_width,
                max_height,
            } => write!(
                f,
                "the video is {width}×{height}; the largest accepted is {max_width}×{max_height} \
                 (or {max_height}×{max_width} upright): export it at a smaller size"
            ),
            Self::TooSmall {
                width,
                height,
                min_side,
            } => write!(
                f,
                "the video is {width}×{height} pixels; each side must be at least {min_side}"
            ),
            Self::UnknownDuration => {
                f.write_str("the video's length cannot be read; re-export it and try again")
            }
            Self::TooShort { duration, min } => write!(
                f,
                "{}-second video: the shortest accepted is {} s",
                seconds(*duration),
                seconds(*min)
            ),
            Self::TooLong { duration, max } => write!(
                f,
                "the video lasts {}; the longest accepted is {}: split it into parts",
                clock(*duration),
                clock(*max)
            ),
            Self::UnknownFrameRate => {
                f.write_str("the video's frame rate cannot be read; re-export it and try again")
            }
            Self::FrameRateTooHigh { fps, max } => write!(
                f,
                "the video has {fps:.0} frames per second; the most accepted is {max:.0}: export \
                 it at a lower frame rate"
            ),
            Self::BitrateTooHigh {
                bits_per_second,
                max,
            } => write!(
                f,
                "the file is encoded at {} Mb/s; the most accepted is {} Mb/s: export it at a \
                 lower quality",
                bits_per_second / 1_000_000,
                max / 1_000_000
            ),
            Self::TooManyStreams { count, max } => write!(
                f,
                "the file holds {count} streams; the most accepted is {max}: keep one picture \
                 and one sound track"
            ),
            Self::Container(name) => write!(
                f,
                "the file's format ({name}) is not accepted: upload an MP4, MOV, MKV or WebM \
                 file"
            ),
            Self::UnknownCodec => {
                f.write_str("the video is in a format we cannot decode; export it as H.264 or HEVC")
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// Accepts `probe` as a [`Source`] or says why not. Cheap checks that stop bombs come first.
pub fn check(probe: &Probe, limits: &Limits) -> Result<Source, Refusal> {
    if probe.streams.len() > limits.max_streams {
        return Err(Refusal::TooManyStreams {
            count: probe.streams.len(),
            max: limits.max_streams,
        });
    }
    let Some((stream, video)) = probe.video() else {
        return Err(if probe.audio().is_some() {
            Refusal::AudioOnly
        } else if probe.container.is_none() || probe.streams.is_empty() {
            Refusal::NotMedia
        } else {
            // Subtitles, data, or a still picture (cover art) and nothing else.
            Refusal::NoVideo
        });
    };
    if let Some(container) = &probe.container {
        let first = container.split(',').next().unwrap_or_default();
        if !ACCEPTED_CONTAINERS.contains(&first) {
            return Err(Refusal::Container(first.to_owned()));
        }
    }
    let Some(codec) = stream.codec.clone() else {
        return Err(Refusal::UnknownCodec);
    };
    let (width, height) = video.display_size();
    if width == 0 || height == 0 {
        return Err(Refusal::UnknownSize);
    }
    let (long, short) = (width.max(height), width.min(height));
    let (max_long, max_short) = (
        limits.max_width.max(limits.max_height),
        limits.max_width.min(limits.max_height),
    );
    if long > max_long
        || short > max_short
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(Refusal::TooLarge {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    if short < limits.min_side {
        return Err(Refusal::TooSmall {
            width,
            height,
            min_side: limits.min_side,
        });
    }
    // The container's duration, else the stream's: some files (raw streams, broken muxers) carry
    // only one of them.
    let duration = probe
        .duration
        .or(stream.duration)
        .ok_or(Refusal::UnknownDuration)?;
    if duration < limits.min_duration {
        return Err(Refusal::TooShort {
            duration,
            min: limits.min_duration,
        });
    }
    // The length bounded is that of the longest stream the worker decodes (the picture and
    // the sound): a container claiming a minute over a ten-hour stream would otherwise have
    // ten hours decoded.
    let decoded = [Some(stream), probe.audio().map(|(audio, _)| audio)]
        .into_iter()
        .flatten()
        .filter_map(|s| s.duration)
        .fold(duration, Duration::max);
    if decoded > limits.max_duration {
        return Err(Refusal::TooLong {
            duration: decoded,
            max: limits.max_duration,
        });
    }
    let fps = video.frame_rate().ok_or(Refusal::UnknownFrameRate)?;
    // The base rate too: a variable-rate file's mean can hide bursts at its base rate, which is
    // what the encoder would have to keep up with.
    let peak_fps = video.r_frame_rate.map_or(fps, |r| r.as_f64()).max(fps);
    if peak_fps > limits.max_fps {
        return Err(Refusal::FrameRateTooHigh {
            fps: peak_fps,
            max: limits.max_fps,
        });
    }
    let video_bit_rate = stream.bit_rate.or(probe.bit_rate);
    if let Some(bits_per_second) = probe.bit_rate.or(video_bit_rate) {
        if bits_per_second > limits.max_bitrate {
            return Err(Refusal::BitrateTooHigh {
                bits_per_second,
                max: limits.max_bitrate,
            });
        }
    }
    let audio = probe.audio().map(|(stream, audio)| SourceAudio {
        codec: stream.codec.clone().unwrap_or_default(),
        channels: audio.channels,
    });
    Ok(Source {
        width: video.width,
        height: video.height,
        rotation: video.rotation,
        sar: video.sar,
        duration,
        fps,
        variable_frame_rate: video.variable_frame_rate(),
        video_codec: codec,
        pix_fmt: video.pix_fmt.clone().unwrap_or_default(),
        bit_depth: video.bit_depth.unwrap_or(8),
        video_bit_rate,
        audio,
        keyframe_gap: None,
    })
}

fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value < 0.1 {
        // A single frame: "0.0" would read as no video at all.
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// `2:05:00` or `4:10`.
fn clock(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vod::probe::{tests::fixture, StreamKind, Video};

    fn accepted(name: &str) -> Source {
        check(&fixture(name), &Limits::default()).expect("accepted")
    }

    /// The 720p fixture with its video stream changed by `edit` and its duration set.
    fn edited(duration: f64, edit: impl FnOnce(&mut Video)) -> Probe {
        let mut probe = fixture("h264_aac_720p");
        probe.duration = Some(Duration::from_secs_f64(duration));
        if let Some(video) = probe.streams.iter_mut().find_map(|s| match &mut s.kind {
            StreamKind::Video(video) => Some(video),
            _ => None,
        }) {
            edit(video);
        }
        probe
    }

    fn refusal(probe: &Probe) -> Refusal {
        check(probe, &Limits::default()).expect_err("refused")
    }

    #[test]
    fn h264_aac_720p_is_accepted_as_browser_ready() {
        let source = accepted("h264_aac_720p");
        assert_eq!(source.display_size(), (1280, 720));
        assert_eq!(source.duration, Duration::from_secs(2));
        assert_eq!(source.fps, 30.0);
        assert!(source.browser_ready_video());
        assert_eq!(source.audio.map(|a| a.codec).as_deref(), Some("aac"));
    }

    #[test]
    fn hevc_10_bit_is_accepted_but_not_browser_ready() {
        let source = accepted("hevc_10bit");
        assert_eq!(source.video_codec, "hevc");
        assert_eq!(source.bit_depth, 10);
        assert!(!source.browser_ready_video());
    }

    #[test]
    fn portrait_and_rotated_sources_are_sized_as_shown() {
        assert_eq!(accepted("rotated_90").display_size(), (1080, 1920));
        assert_eq!(accepted("portrait_1080x1920").display_size(), (1080, 1920));
    }

    #[test]
    fn audio_only_and_not_media_are_refused_with_reasons() {
        assert_eq!(refusal(&fixture("audio_only")), Refusal::AudioOnly);
        assert_eq!(refusal(&fixture("notvideo")), Refusal::NotMedia);
        assert_eq!(
            Refusal::NotMedia.to_string().split(':').next(),
            Some("not a video")
        );
        assert!(Refusal::AudioOnly.to_string().contains("no picture"));
        let subtitles_only = Probe {
            container: Some("srt".into()),
            duration: Some(Duration::from_secs(60)),
            bit_rate: None,
            size_bytes: None,
            streams: vec![crate::vod::probe::Stream {
                index: 0,
                codec: Some("subrip".into()),
                profile: None,
                duration: None,
                bit_rate: None,
                kind: StreamKind::Other("subtitle".into()),
            }],
        };
        assert_eq!(
            refusal(&subtitles_only).to_string(),
            "not a video: no video stream"
        );
    }

    #[test]
    fn huge_dimensions_are_refused_from_the_probe() {
        let bomb = edited(2.0, |v| (v.width, v.height) = (16_000, 16_000));
        let refused = refusal(&bomb);
        assert_eq!(
            refused.to_string(),
            "the video is 16000×16000; the largest accepted is 3840×2160 (or 2160×3840 upright): \
             export it at a smaller size"
        );
        // Each side within the long edge, yet too many pixels: 3840×3840.
        assert!(matches!(
            refusal(&edited(2.0, |v| (v.width, v.height) = (3840, 3840))),
            Refusal::TooLarge { .. }
        ));
        // A portrait 4K is as accepted as a landscape one.
        let portrait_4k = edited(2.0, |v| (v.width, v.height) = (2160, 3840));
        assert!(check(&portrait_4k, &Limits::default()).is_ok());
    }

    #[test]
    fn one_pixel_for_ten_hours_fails_fast() {
        let tiny_and_long = edited(36_000.0, |v| (v.width, v.height) = (1, 1));
        assert_eq!(
            refusal(&tiny_and_long).to_string(),
            "the video is 1×1 pixels; each side must be at least 16"
        );
        let long = edited(36_000.0, |_| {});
        assert_eq!(
            refusal(&long).to_string(),
            "the video lasts 10:00:00; the longest accepted is 2:00:00: split it into parts"
        );
    }

    #[test]
    fn a_container_claiming_less_than_its_streams_last_is_measured_by_the_longest_stream() {
        fn stream_of(probe: &mut Probe, video: bool) -> &mut crate::vod::probe::Stream {
            probe
                .streams
                .iter_mut()
                .find(|s| match s.kind {
                    StreamKind::Video(_) => video,
                    StreamKind::Audio(_) => !video,
                    _ => false,
                })
                .expect("the stream")
        }
        let mut long_video = edited(60.0, |_| {});
        stream_of(&mut long_video, true).duration = Some(Duration::from_secs(36_000));
        assert_eq!(
            refusal(&long_video).to_string(),
            "the video lasts 10:00:00; the longest accepted is 2:00:00: split it into parts"
        );
        let mut long_sound = fixture("h264_aac_720p");
        stream_of(&mut long_sound, false).duration = Some(Duration::from_secs(3 * 3600));
        assert_eq!(
            refusal(&long_sound),
            Refusal::TooLong {
                duration: Duration::from_secs(3 * 3600),
                max: Duration::from_secs(2 * 3600),
            }
        );
        // Streams a little longer than the container (a last frame's duration) are fine.
        let mut close = fixture("h264_aac_720p");
        for stream in &mut close.streams {
            stream.duration = Some(Duration::from_millis(2_040));
        }
        assert_eq!(
            check(&close, &Limits::default()).map(|s| s.duration),
            Ok(Duration::from_secs(2))
        );
    }

    #[test]
    fn zero_second_video_is_refused() {
        assert_eq!(
            refusal(&edited(0.0, |_| {})).to_string(),
            "0-second video: the shortest accepted is 0.5 s"
        );
        assert_eq!(
            refusal(&edited(0.034, |_| {})).to_string(),
            "0.03-second video: the shortest accepted is 0.5 s"
        );
        let mut unknown = edited(1.0, |_| {});
        unknown.duration = None;
        for stream in &mut unknown.streams {
            stream.duration = None;
        }
        assert_eq!(refusal(&unknown), Refusal::UnknownDuration);
    }

    #[test]
    fn frame_rate_bitrate_and_stream_count_are_bounded() {
        let fast = edited(2.0, |v| {
            v.r_frame_rate = crate::vod::probe::Rational::parse("1000/1");
            v.avg_frame_rate = v.r_frame_rate;
        });
        assert!(refusal(&fast)
            .to_string()
            .contains("1000 frames per second"));
        let mut heavy = fixture("h264_aac_720p");
        heavy.bit_rate = Some(900_000_000);
        assert!(refusal(&heavy).to_string().contains("900 Mb/s"));
        let mut crowded = fixture("h264_aac_720p");
        let extra = crowded.streams[1].clone();
        crowded.streams.extend(std::iter::repeat_n(extra, 20));
        assert_eq!(
            refusal(&crowded),
            Refusal::TooManyStreams { count: 22, max: 16 }
        );
        let unknown_rate = edited(2.0, |v| {
            v.r_frame_rate = None;
            v.avg_frame_rate = None;
        });
        assert_eq!(refusal(&unknown_rate), Refusal::UnknownFrameRate);
    }

    #[test]
    fn playlists_and_scripts_are_not_uploads() {
        for container in ["hls", "concat", "image2", "lavfi"] {
            let mut probe = fixture("h264_aac_720p");
            probe.container = Some(container.into());
            assert_eq!(refusal(&probe), Refusal::Container(container.into()));
        }
        let mut mkv = fixture("h264_aac_720p");
        mkv.container = Some("matroska,webm".into());
        assert!(check(&mkv, &Limits::default()).is_ok());
        assert!(check(&fixture("mpeg4_mp3"), &Limits::default()).is_ok());
    }

    #[test]
    fn variable_frame_rate_is_accepted_and_marked() {
        let source = accepted("vfr");
        assert!(source.variable_frame_rate);
        assert!(accepted("video_only").audio.is_none());
    }
}
