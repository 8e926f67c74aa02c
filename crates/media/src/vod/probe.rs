//! What ffprobe says about an uploaded file, read from the JSON of
//! `ffprobe -v error -print_format json -show_format -show_streams FILE`.
//!
//! ffprobe's numbers arrive as strings (`"duration": "2.000000"`), ratios (`"30000/1001"`) or
//! `"N/A"`, and any field may be missing for an odd container, so every field is optional here and
//! the checks in [`super::limits`] decide what a missing value means. The report comes from a file
//! a stranger uploaded: its size and stream count are bounded before anything is believed.

use std::time::Duration;

use serde::Deserialize;

/// ffprobe's report of a real file is a few kB per stream; anything near this is not one.
pub const MAX_REPORT_BYTES: usize = 1 << 20;
/// More streams than any upload we accept could carry (see [`super::Limits::max_streams`]),
/// which already stops the report from being walked at all.
pub const MAX_REPORT_STREAMS: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    #[error("ffprobe's report is {0} bytes, more than any real file produces")]
    TooLarge(usize),
    #[error("ffprobe's report lists {0} streams, more than any real file carries")]
    TooManyStreams(usize),
    #[error("ffprobe's report is not the JSON it writes: {0}")]
    Json(String),
}

/// The file as ffprobe sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`; `None` when
    /// ffprobe recognised no container at all (it then prints `{}`).
    pub container: Option<String>,
    pub duration: Option<Duration>,
    /// The container's overall bit rate, in bits per second.
    pub bit_rate: Option<u64>,
    pub size_bytes: Option<u64>,
    pub streams: Vec<Stream>,
}

/// One stream of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub index: u32,
    /// ffmpeg's codec name: `h264`, `hevc`, `aac`, `mp3`...; `None` if ffprobe could not tell.
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub duration: Option<Duration>,
    pub bit_rate: Option<u64>,
    pub kind: StreamKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamKind {
    Video(Video),
    Audio(Audio),
    /// A picture attached to the file (cover art): ffprobe lists it as a video stream, but it is
    /// one still image, not a video.
    CoverArt,
    /// Subtitles, data, attachments: kept so the stream count is honest, otherwise ignored.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    /// Coded size, before rotation.
    pub width: u32,
    pub height: u32,
    pub pix_fmt: Option<String>,
    /// Bits per sample: ffprobe's `bits_per_raw_sample`, else read from the pixel format name.
    pub bit_depth: Option<u8>,
    /// The stream's base rate (`r_frame_rate`).
    pub r_frame_rate: Option<Rational>,
    /// Frames over duration (`avg_frame_rate`).
    pub avg_frame_rate: Option<Rational>,
    /// Clockwise degrees the picture is turned on display: 0, 90, 180 or 270.
    pub rotation: u16,
    /// Sample (pixel) aspect ratio when not square: a DV or DVD picture's 720 pixels are shown
    /// wider or narrower. `None` for square pixels or unknown (`0:1`).
    pub sar: Option<Rational>,
    pub frames: Option<u64>,
}

/// The size a `width`×`height` picture is shown at: pixels made square, then turned.
pub fn display_size(width: u32, height: u32, sar: Option<Rational>, rotation: u16) -> (u32, u32) {
    let width = match sar {
        Some(sar) => {
            let stretched = (u64::from(width) * u64::from(sar.num) + u64::from(sar.den) / 2)
                / u64::from(sar.den);
            u32::try_from(stretched).unwrap_or(u32::MAX)
        }
        None => width,
    };
    if rotation % 180 == 90 {
        (height, width)
    } else {
        (width, height)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub channels: Option<u32>,
    pub sample_rate: Option<u32>,
}

/// A positive ratio such as `30000/1001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rational {
    pub num: u32,
    pub den: u32,
}

impl Rational {
    /// `None` for ffprobe's "unknown" (`0/0`) and anything not a positive ratio.
    pub fn parse(text: &str) -> Option<Self> {
        let (num, den) = text.split_once('/')?;
        let (num, den) = (num.trim().parse().ok()?, den.trim().parse().ok()?);
        (num > 0 && den > 0).then_some(Self { num, den })
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl Video {
    /// Width and height as the picture is shown: a phone's portrait video is often stored as
    /// 1920×1080 and turned 90° on display.
    pub fn display_size(&self) -> (u32, u32) {
        display_size(self.width, self.height, self.sar, self.rotation)
    }

    /// The frame rate to plan with: the average when known (a variable rate's real mean), else
    /// the base rate.
    pub fn frame_rate(&self) -> Option<f64> {
        self.avg_frame_rate
            .or(self.r_frame_rate)
            .map(Rational::as_f64)
    }

    /// Frames do not come at one rate: the mean rate differs from the base rate by more than
    /// 2 % (a constant-rate file's two agree, bar rounding of its last frame's duration).
    pub fn variable_frame_rate(&self) -> bool {
        match (self.r_frame_rate, self.avg_frame_rate) {
            (Some(base), Some(mean)) => {
                let (base, mean) = (base.as_f64(), mean.as_f64());
                (base - mean).abs() > base * 0.02
            }
            _ => false,
        }
    }
}

impl Probe {
    /// Reads ffprobe's JSON report, refusing one too large or with too many streams to be real.
    pub fn parse(json: &[u8]) -> Result<Self, ProbeError> {
        if json.len() > MAX_REPORT_BYTES {
            return Err(ProbeError::TooLarge(json.len()));
        }
        let report: Report =
            serde_json::from_slice(json).map_err(|e| ProbeError::Json(e.to_string()))?;
        if report.streams.len() > MAX_REPORT_STREAMS {
            return Err(ProbeError::TooManyStreams(report.streams.len()));
        }
        let format = report.format.unwrap_or_default();
        Ok(Self {
            container: format.format_name,
            duration: format.duration.as_deref().and_then(seconds),
            bit_rate: format.bit_rate.as_deref().and_then(number),
            size_bytes: format.size.as_deref().and_then(number),
            streams: report.streams.into_iter().map(Stream::from).collect(),
        })
    }

    /// The first real video stream (cover art is not one).
    pub fn video(&self) -> Option<(&Stream, &Video)> {
        self.streams.iter().find_map(|s| match &s.kind {
            StreamKind::Video(v) => Some((s, v)),
            _ => None,
        })
    }

    pub fn audio(&self) -> Option<(&Stream, &Audio)> {
        self.streams.iter().find_map(|s| match &s.kind {
            StreamKind::Audio(a) => Some((s, a)),
            _ => None,
        })
    }
}

impl From<RawStream> for Stream {
    fn from(raw: RawStream) -> Self {
        let kind = match raw.codec_type.as_deref() {
            Some("video") if raw.disposition.attached_pic == 1 => StreamKind::CoverArt,
            Some("video") => StreamKind::Video(Video {
                width: raw.width.unwrap_or(0),
                height: raw.height.unwrap_or(0),
                bit_depth: raw
                    .bits_per_raw_sample
                    .as_deref()
                    .and_then(number)
                    .and_then(|b| u8::try_from(b).ok())
                    .or_else(|| raw.pix_fmt.as_deref().map(bit_depth_of)),
                pix_fmt: raw.pix_fmt,
                r_frame_rate: raw.r_frame_rate.as_deref().and_then(Rational::parse),
                avg_frame_rate: raw.avg_frame_rate.as_deref().and_then(Rational::parse),
                rotation: rotation(&raw.side_data_list, raw.tags.rotate.as_deref()),
                sar: raw
                    .sample_aspect_ratio
                    .as_deref()
                    .and_then(|text| Rational::parse(&text.replace(':', "/")))
                    .filter(|sar| sar.num != sar.den),
                frames: raw.nb_frames.as_deref().and_then(number),
            }),
            Some("audio") => StreamKind::Audio(Audio {
                channels: raw.channels,
                sample_rate: raw
                    .sample_rate
                    .as_deref()
                    .and_then(number)
                    .and_then(|rate| u32::try_from(rate).ok()),
            }),
            other => StreamKind::Other(other.unwrap_or("unknown").to_owned()),
        };
        Self {
            index: raw.index.unwrap_or(0),
            codec: raw.codec_name,
            profile: raw.profile,
            duration: raw.duration.as_deref().and_then(seconds),
            bit_rate: raw.bit_rate.as_deref().and_then(number),
            kind,
        }
    }
}

/// `yuv420p10le` → 10; a name without a depth (`yuv420p`, `nv12`) is 8 bits.
fn bit_depth_of(pix_fmt: &str) -> u8 {
    let depth = pix_fmt
        .trim_end_matches("le")
        .trim_end_matches("be")
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse().ok());
    match depth {
        Some(bits @ 9..=16) if pix_fmt.contains('p') => bits,
        _ => 8,
    }
}

/// Clockwise degrees on display. The display matrix's `rotation` is counter-clockwise (ffprobe 5
/// and later); the old `rotate` tag is clockwise.
fn rotation(side_data: &[SideData], rotate_tag: Option<&str>) -> u16 {
    let counter_clockwise = side_data.iter().find_map(|d| d.rotation);
    let clockwise = match counter_clockwise {
        Some(degrees) => -degrees,
        None => match rotate_tag.and_then(|t| t.trim().parse::<f64>().ok()) {
            Some(degrees) => degrees,
            None => return 0,
        },
    };
    // Only quarter turns are meaningful for a picture; round anything else to the nearest one.
    let quarters = (clockwise / 90.0).round().rem_euclid(4.0);
    (quarters as u16) * 90
}

/// The longest stretch without a keyframe in the video packets listed by [`super::argv::keyframes`]
/// (`PTS,FLAGS` per line, `K` marking a keyframe), counting the stretch after the last one;
/// `None` when no keyframe is listed. Reads at most [`MAX_PACKET_LINES`] lines.
///
/// A copied source can only be cut into segments at its keyframes: an encoder's default of one
/// keyframe every 250 frames makes 8–10 s segments, a screen recording may have a single one.
pub fn longest_keyframe_gap(packets: &str) -> Option<Duration> {
    let (mut last_key, mut end, mut longest): (Option<f64>, f64, f64) = (None, 0.0, 0.0);
    for line in packets.lines().take(MAX_PACKET_LINES) {
        let Some((pts, flags)) = line.trim().split_once(',') else {
            continue;
        };
        let Ok(pts) = pts.parse::<f64>() else {
            continue;
        };
        if !pts.is_finite() {
            continue;
        }
        end = end.max(pts);
        if flags.starts_with('K') {
            if let Some(previous) = last_key {
                longest = longest.max(pts - previous);
            }
            last_key = Some(pts);
        }
    }
    let last_key = last_key?;
    Duration::try_from_secs_f64(longest.max(end - last_key)).ok()
}

/// Packets [`longest_keyframe_gap`] reads: a minute of 240 fps video, far more than the minute
/// [`super::argv::keyframes`] asks ffprobe for at any accepted frame rate.
pub const MAX_PACKET_LINES: usize = 60 * 240;

fn seconds(text: &str) -> Option<Duration> {
    let value: f64 = text.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0)
        .then(|| Duration::try_from_secs_f64(value).ok())
        .flatten()
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

// ffprobe's JSON as written; unknown fields are ignored.

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Deserialize, Default)]
struct RawFormat {
    format_name: Option<String>,
    duration: Option<String>,
    size: Option<String>,
    bit_rate: Option<String>,
}

#[derive(Deserialize)]
struct RawStream {
    index: Option<u32>,
    codec_name: Option<String>,
    codec_type: Option<String>,
    profile: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    sample_aspect_ratio: Option<String>,
    bits_per_raw_sample: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    duration: Option<String>,
    bit_rate: Option<String>,
    nb_frames: Option<String>,
    channels: Option<u32>,
    sample_rate: Option<String>,
    #[serde(default)]
    disposition: Disposition,
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    side_data_list: Vec<SideData>,
}

#[derive(Deserialize, Default)]
struct Disposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize, Default)]
struct Tags {
    rotate: Option<String>,
}

#[derive(Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A committed ffprobe report of a file made by ffmpeg (see the fixtures' README).
    pub(crate) fn fixture(name: &str) -> Probe {
        let path = format!(
            "{}/tests/fixtures/probe/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let json = std::fs::read(&path).expect("fixture exists");
        Probe::parse(&json).expect("fixture parses")
    }

    #[test]
    fn h264_aac_file_is_read_in_full() {
        let probe = fixture("h264_aac_720p");
        assert_eq!(probe.container.as_deref(), Some("mov,mp4,m4a,3gp,3g2,mj2"));
        assert_eq!(probe.duration, Some(Duration::from_secs(2)));
        assert_eq!(probe.bit_rate, Some(7_483_756));
        let (stream, video) = probe.video().expect("video");
        assert_eq!(stream.codec.as_deref(), Some("h264"));
        assert_eq!((video.width, video.height), (1280, 720));
        assert_eq!(video.pix_fmt.as_deref(), Some("yuv420p"));
        assert_eq!(video.bit_depth, Some(8));
        assert_eq!(video.r_frame_rate, Some(Rational { num: 30, den: 1 }));
        assert_eq!(video.frame_rate(), Some(30.0));
        assert!(!video.variable_frame_rate());
        assert_eq!(video.rotation, 0);
        let (stream, audio) = probe.audio().expect("audio");
        assert_eq!(stream.codec.as_deref(), Some("aac"));
        assert_eq!(audio.channels, Some(1));
        assert_eq!(audio.sample_rate, Some(48_000));
    }

    #[test]
    fn rotated_phone_video_is_shown_portrait() {
        let probe = fixture("rotated_90");
        let (_, video) = probe.video().expect("video");
        assert_eq!((video.width, video.height), (1920, 1080));
        assert_eq!(video.rotation % 180, 90);
        assert_eq!(video.display_size(), (1080, 1920));
    }

    #[test]
    fn non_square_pixels_are_shown_stretched() {
        let json = br#"{"streams":[{"codec_type":"video","codec_name":"mpeg2video",
            "width":720,"height":576,"sample_aspect_ratio":"64:45","r_frame_rate":"25/1"}],
            "format":{"format_name":"mpeg","duration":"10.0"}}"#;
        let probe = Probe::parse(json).expect("parses");
        let (_, video) = probe.video().expect("video");
        assert_eq!(video.sar, Some(Rational { num: 64, den: 45 }));
        assert_eq!(video.display_size(), (1024, 576));
        assert_eq!(
            fixture("h264_aac_720p").video().map(|(_, v)| v.sar),
            Some(None)
        );
        let sar = Rational::parse("8/9");
        assert_eq!(display_size(720, 480, sar, 90), (480, 640));
    }

    #[test]
    fn rotation_comes_from_the_display_matrix_or_the_old_tag() {
        let matrix = |degrees| SideData {
            rotation: Some(degrees),
        };
        assert_eq!(rotation(&[matrix(-90.0)], None), 90);
        assert_eq!(rotation(&[matrix(90.0)], None), 270);
        assert_eq!(rotation(&[matrix(180.0)], None), 180);
        assert_eq!(rotation(&[matrix(-89.6)], Some("0")), 90);
        assert_eq!(rotation(&[], Some("90")), 90);
        assert_eq!(rotation(&[], Some("-90")), 270);
        assert_eq!(rotation(&[], Some("sideways")), 0);
        assert_eq!(rotation(&[], None), 0);
    }

    #[test]
    fn hevc_10_bit_depth_is_read_from_the_pixel_format() {
        let probe = fixture("hevc_10bit");
        let (stream, video) = probe.video().expect("video");
        assert_eq!(stream.codec.as_deref(), Some("hevc"));
        assert_eq!(video.pix_fmt.as_deref(), Some("yuv420p10le"));
        assert_eq!(video.bit_depth, Some(10));
        assert_eq!(bit_depth_of("yuv422p12be"), 12);
        assert_eq!(bit_depth_of("nv12"), 8);
        assert_eq!(bit_depth_of("yuvj420p"), 8);
    }

    #[test]
    fn variable_frame_rate_is_detected() {
        let probe = fixture("vfr");
        let (_, video) = probe.video().expect("video");
        assert!(video.variable_frame_rate(), "{video:?}");
        assert!(video.frame_rate().is_some_and(|fps| fps < 20.0));
    }

    #[test]
    fn audio_only_and_video_only_files() {
        let audio = fixture("audio_only");
        assert!(audio.video().is_none());
        assert_eq!(audio.audio().and_then(|(_, a)| a.sample_rate), Some(44_100));
        let video = fixture("video_only");
        assert!(video.audio().is_none());
        assert_eq!(video.video().map(|(_, v)| v.frame_rate()), Some(Some(25.0)));
    }

    #[test]
    fn not_a_media_file_has_no_container_and_no_streams() {
        // ffprobe prints `{}` (and exits 1) for a file it cannot read: text, or an MP4 cut
        // off before its index ("moov atom not found").
        let probe = fixture("notvideo");
        assert_eq!(probe.container, None);
        assert!(probe.streams.is_empty());
    }

    #[test]
    fn cover_art_is_not_a_video() {
        let json = br#"{"streams":[
            {"index":0,"codec_type":"audio","codec_name":"mp3","channels":2,"sample_rate":"44100"},
            {"index":1,"codec_type":"video","codec_name":"mjpeg","width":600,"height":600,
             "disposition":{"attached_pic":1}}],
            "format":{"format_name":"mp3","duration":"180.5"}}"#;
        let probe = Probe::parse(json).expect("parses");
        assert!(probe.video().is_none());
        assert_eq!(probe.streams[1].kind, StreamKind::CoverArt);
    }

    #[test]
    fn odd_values_are_unknown_not_errors() {
        let json = br#"{"streams":[{"codec_type":"video","r_frame_rate":"0/0",
            "avg_frame_rate":"N/A","duration":"N/A","bit_rate":"-5"}],
            "format":{"duration":"-1","bit_rate":"N/A"}}"#;
        let probe = Probe::parse(json).expect("parses");
        assert_eq!(probe.duration, None);
        let (stream, video) = probe.video().expect("a video stream");
        assert_eq!((video.width, video.height), (0, 0));
        assert_eq!(video.frame_rate(), None);
        assert_eq!(stream.bit_rate, None);
        assert_eq!(Rational::parse("30000/1001").map(|r| r.num), Some(30000));
        assert_eq!(Rational::parse("1/0"), None);
    }

    #[test]
    fn keyframe_gaps_are_measured_from_the_packet_list() {
        // As `ffprobe -show_entries packet=pts_time,flags -of csv=p=0` prints them.
        let every_second = (0..90)
            .map(|frame| {
                let flags = if frame % 30 == 0 { "K_" } else { "__" };
                format!("{:.6},{flags}\n", f64::from(frame) / 30.0)
            })
            .collect::<String>();
        let gap = longest_keyframe_gap(&every_second).expect("keyframes");
        assert!((gap.as_secs_f64() - 1.0).abs() < 0.05, "{gap:?}");
        // One keyframe at the start of 2 s: the stretch after it counts.
        let single = "0.000000,K_\n0.033333,__\n1.966667,__\n";
        assert_eq!(
            longest_keyframe_gap(single),
            Some(Duration::from_secs_f64(1.966667))
        );
        // B-frames list packets out of presentation order; N/A and junk are skipped.
        let odd = "0.0,K_\nN/A,__\n0.2,__\n0.1,__\nnonsense\n4.0,K_\n4.5,__\n";
        assert_eq!(longest_keyframe_gap(odd), Some(Duration::from_secs(4)));
        assert_eq!(longest_keyframe_gap("0.0,__\n1.0,__\n"), None);
        assert_eq!(longest_keyframe_gap(""), None);
    }

    #[test]
    fn absurd_reports_are_refused_before_they_are_walked() {
        let huge = vec![b' '; MAX_REPORT_BYTES + 1];
        assert_eq!(
            Probe::parse(&huge),
            Err(ProbeError::TooLarge(MAX_REPORT_BYTES + 1))
        );
        let many = format!(
            "{{\"streams\":[{}]}}",
            vec!["{\"codec_type\":\"data\"}"; MAX_REPORT_STREAMS + 1].join(",")
        );
        assert_eq!(
            Probe::parse(many.as_bytes()),
            Err(ProbeError::TooManyStreams(MAX_REPORT_STREAMS + 1))
        );
        assert!(matches!(
            Probe::parse(b"not json"),
            Err(ProbeError::Json(_))
        ));
    }
}
