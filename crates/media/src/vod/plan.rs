//! What an accepted file becomes: which renditions, in which order, copied or encoded, and why.
//!
//! The rungs come from the live planner ([`ladder::plan`]) fed the picture as it is shown, so a
//! portrait phone video (stored 1920×1080, turned 90°) is planned as 1080×1920 and its rungs keep
//! that shape. **Fast start**: a source browsers already decode (H.264 8-bit 4:2:0, not rotated,
//! square pixels, constant frame rate, keyframes at most 5 s apart, a sane bit rate) is packaged
//! as it is first, so the video plays within seconds of the upload; the encoded rungs join the
//! master as they finish, smallest first because it finishes first. Anything else (HEVC, 10-bit,
//! rotated, variable frame rate...) is encoded to H.264 8-bit for every rung and the plan says
//! why.

use std::{fmt, time::Duration};

use super::limits::Source;
use crate::ladder::{self, argv::AudioPlan, Encoding, RungSpec, Variant};

/// One rendition of the plan; the same type as a live rung.
pub type Rung = Variant;

/// Settings of the plan that are configuration, not facts about the file.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    pub rungs: Vec<RungSpec>,
    pub segment_seconds: u32,
    pub audio_kbps: u32,
    /// A source above this rate is encoded even when browsers could play it: its copy would
    /// stall on ordinary connections.
    pub max_copy_kbps: u32,
    /// A source with keyframes further apart is encoded: its copy's segments would be that long.
    pub max_copy_keyframe_gap: Duration,
    /// Encoded rungs never exceed this frame rate.
    pub max_output_fps: u32,
    pub thumbnail_width: u32,
    /// Tiles per sprite sheet, as columns × rows.
    pub sprite_grid: (u32, u32),
    /// At most this many thumbnails for a whole video: long videos get sparser ones.
    pub max_thumbnails: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            rungs: ladder::parse_ladder(ladder::DEFAULT_LADDER).unwrap_or_default(),
            segment_seconds: 2,
            audio_kbps: 128,
            max_copy_kbps: 20_000,
            max_copy_keyframe_gap: Duration::from_secs(5),
            max_output_fps: 60,
            thumbnail_width: 160,
            sprite_grid: (10, 10),
            max_thumbnails: 300,
        }
    }
}

/// Why the source is not packaged as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscodeReason {
    Codec(String),
    BitDepth(u8),
    PixelFormat(String),
    /// Browsers ignore the rotation of a copied MP4 track; the encoder turns the pictures.
    Rotated(u16),
    VariableFrameRate,
    FrameRate(f64),
    Bitrate {
        kbps: u64,
        max: u32,
    },
    /// The longest measured time between keyframes.
    SparseKeyframes(Duration),
    /// Pixels that are not square: the rungs are made square at the shown size.
    NonSquarePixels,
}

impl fmt::Display for TranscodeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec(codec) => write!(
                f,
                "the source is {}, which browsers do not all play: encoded to H.264 8-bit",
                codec.to_uppercase()
            ),
            Self::BitDepth(bits) => {
                write!(f, "the source is {bits}-bit: encoded to H.264 8-bit")
            }
            Self::PixelFormat(format) => write!(
                f,
                "the source's pixel format is {format}: encoded to 8-bit 4:2:0 (yuv420p)"
            ),
            Self::Rotated(degrees) => write!(
                f,
                "the source is turned {degrees}° on display: encoded upright"
            ),
            Self::VariableFrameRate => f.write_str(
                "the source has a variable frame rate: encoded at a constant one so every rung \
                 cuts segments at the same instants",
            ),
            Self::FrameRate(fps) => write!(
                f,
                "the source has {fps:.0} frames per second: encoded at a lower rate"
            ),
            Self::SparseKeyframes(gap) => write!(
                f,
                "the source has keyframes up to {:.1} s apart: encoded so it can be cut into short \
                 segments",
                gap.as_secs_f64()
            ),
            Self::NonSquarePixels => f.write_str(
                "the source's pixels are not square: encoded with square pixels at its shown size",
            ),
            Self::Bitrate { kbps, max } => write!(
                f,
                "the source is {kbps} kb/s, above the {max} kb/s a copy may have: encoded"
            ),
        }
    }
}

/// Where every encoded rung puts its keyframes, so all renditions cut segments together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyframes {
    /// Where the copied source has them (`-force_key_frames source`): the copy's segments can
    /// only start there.
    Source,
    /// Every this many seconds (`expr:gte(t,n_forced*N)`), no scene cuts.
    Every(u32),
}

/// The scrubbing thumbnails: one every `interval`, `width`×`height`, tiled into sprite sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailPlan {
    pub interval: Duration,
    pub width: u32,
    pub height: u32,
    pub columns: u32,
    pub rows: u32,
}

/// What the worker makes of one accepted file.
#[derive(Debug, Clone, PartialEq)]
pub struct VodPlan {
    /// The source rendition is packaged without re-encoding, before anything else.
    pub copy_source: bool,
    /// Empty exactly when `copy_source`.
    pub transcode_reasons: Vec<TranscodeReason>,
    /// In the order to make them: the copy (if any) first, then the encoded rungs smallest
    /// first, so something plays as soon as possible.
    pub rungs: Vec<Rung>,
    pub audio: AudioPlan,
    pub keyframes: Keyframes,
    /// A constant frame rate for the encoded rungs, when the source's cannot be kept.
    pub output_fps: Option<u32>,
    /// Shown size of the source; every rung keeps its aspect ratio.
    pub display_size: (u32, u32),
    pub duration: Duration,
    pub segment_seconds: u32,
    pub poster_at: Duration,
    pub thumbnails: ThumbnailPlan,
}

impl VodPlan {
    /// The rungs ffmpeg encodes (everything but the copy).
    pub fn encoded(&self) -> impl Iterator<Item = &Rung> {
        self.rungs
            .iter()
            .filter(|r| matches!(r.encoding, Encoding::X264 { .. }))
    }
}

/// Frame rates encoded rungs are normalised to: the smallest at or above the source's mean.
const STANDARD_RATES: [u32; 5] = [24, 25, 30, 50, 60];

pub fn plan(source: &Source, options: &PlanOptions) -> VodPlan {
    let (width, height) = source.display_size();
    let mut reasons = Vec::new();
    if source.video_codec != "h264" {
        reasons.push(TranscodeReason::Codec(source.video_codec.clone()));
    }
    if source.bit_depth != 8 {
        reasons.push(TranscodeReason::BitDepth(source.bit_depth));
    } else if source.pix_fmt != "yuv420p" {
        reasons.push(TranscodeReason::PixelFormat(source.pix_fmt.clone()));
    }
    if source.sar.is_some() {
        reasons.push(TranscodeReason::NonSquarePixels);
    }
    if source.rotation != 0 {
        reasons.push(TranscodeReason::Rotated(source.rotation));
    }
    let too_fast = source.fps > f64::from(options.max_output_fps) * 1.02;
    if source.variable_frame_rate {
        reasons.push(TranscodeReason::VariableFrameRate);
    } else if too_fast {
        reasons.push(TranscodeReason::FrameRate(source.fps));
    }
    if let Some(kbps) = source.video_bit_rate.map(|bps| bps / 1000) {
        if kbps > u64::from(options.max_copy_kbps) {
            reasons.push(TranscodeReason::Bitrate {
                kbps,
                max: options.max_copy_kbps,
            });
        }
    }
    if let Some(gap) = source.keyframe_gap {
        if gap > options.max_copy_keyframe_gap {
            reasons.push(TranscodeReason::SparseKeyframes(gap));
        }
    }
    let copy_source = reasons.is_empty();

    let mut rungs = ladder::plan(width, height, &options.rungs);
    if !copy_source {
        let highest = options.rungs.iter().map(|r| r.height).max().unwrap_or(0);
        if height > highest && rungs.len() > 1 {
            // Above every configured rung: the highest configured one is the top when encoding.
            rungs.remove(0);
        } else if let Some(top) = rungs.first_mut() {
            // x264 needs even sizes; the copy could keep odd ones.
            let even = (height & !1).max(2);
            top.encoding = Encoding::X264 {
                video_kbps: ladder::rate_for_height(even, &options.rungs),
            };
            top.width = ladder::scaled_width(width, height, even);
            top.height = even;
            top.name = format!("{even}p");
        }
        // A 721-line source made even is the 720 rung already planned below it.
        rungs.dedup_by_key(|r| r.height);
    }
    // Copy first (it is ready at once), then the encoded rungs smallest first.
    rungs.sort_by_key(|r| match r.encoding {
        Encoding::Copy => (0, 0),
        Encoding::X264 { .. } => (1, r.height),
    });

    let audio = match &source.audio {
        None => AudioPlan::None,
        Some(audio) if audio.codec == "aac" && audio.channels.is_some_and(|c| c <= 2) => {
            AudioPlan::Copy
        }
        Some(_) => AudioPlan::Aac {
            kbps: options.audio_kbps,
        },
    };
    let output_fps = (source.variable_frame_rate || too_fast).then(|| {
        STANDARD_RATES
            .into_iter()
            .find(|rate| f64::from(*rate) >= source.fps * 0.98)
            .unwrap_or(60)
            .min(options.max_output_fps)
    });
    VodPlan {
        copy_source,
        transcode_reasons: reasons,
        rungs,
        audio,
        keyframes: if copy_source {
            Keyframes::Source
        } else {
            Keyframes::Every(options.segment_seconds.max(1))
        },
        output_fps,
        display_size: (width, height),
        duration: source.duration,
        segment_seconds: options.segment_seconds.max(1),
        poster_at: poster_at(source.duration),
        thumbnails: thumbnails(source.duration, width, height, options),
    }
}

/// A tenth into the video but at most 10 s: past a fade-in from black, before spoilers.
fn poster_at(duration: Duration) -> Duration {
    (duration / 10).min(Duration::from_secs(10))
}

fn thumbnails(duration: Duration, width: u32, height: u32, options: &PlanOptions) -> ThumbnailPlan {
    let most = u64::from(options.max_thumbnails.max(1));
    let seconds = duration.as_secs().div_ceil(most).max(1);
    let thumb_width = options.thumbnail_width.max(2) & !1;
    ThumbnailPlan {
        interval: Duration::from_secs(seconds),
        width: thumb_width,
        // `scale=W:-2` computes the height the way `scale=-2:H` computes a width.
        height: ladder::scaled_width(height, width, thumb_width),
        columns: options.sprite_grid.0.max(1),
        rows: options.sprite_grid.1.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vod::{
        limits::{check, Limits},
        probe::tests::fixture,
    };

    fn plan_of(name: &str) -> VodPlan {
        let source = check(&fixture(name), &Limits::default()).expect("accepted");
        plan(&source, &PlanOptions::default())
    }

    fn shapes(plan: &VodPlan) -> Vec<(String, u32, u32, bool)> {
        plan.rungs
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.width,
                    r.height,
                    r.encoding == Encoding::Copy,
                )
            })
            .collect()
    }

    #[test]
    fn h264_aac_source_starts_fast_with_its_copy() {
        let plan = plan_of("h264_aac_720p");
        assert!(plan.copy_source);
        assert!(plan.transcode_reasons.is_empty());
        assert_eq!(
            shapes(&plan),
            [
                ("720p".into(), 1280, 720, true),
                ("360p".into(), 640, 360, false),
                ("480p".into(), 854, 480, false),
            ]
        );
        assert_eq!(plan.audio, AudioPlan::Copy);
        assert_eq!(plan.keyframes, Keyframes::Source);
        assert_eq!(plan.output_fps, None);
        assert_eq!(plan.encoded().count(), 2);
    }

    #[test]
    fn hevc_10_bit_is_encoded_to_h264_with_reasons() {
        let plan = plan_of("hevc_10bit");
        assert!(!plan.copy_source);
        assert_eq!(
            plan.transcode_reasons,
            [
                TranscodeReason::Codec("hevc".into()),
                TranscodeReason::BitDepth(10)
            ]
        );
        assert_eq!(
            plan.transcode_reasons[0].to_string(),
            "the source is HEVC, which browsers do not all play: encoded to H.264 8-bit"
        );
        assert_eq!(
            shapes(&plan),
            [
                ("360p".into(), 640, 360, false),
                ("480p".into(), 854, 480, false),
                ("720p".into(), 1280, 720, false),
            ]
        );
        assert_eq!(plan.rungs[2].encoding, Encoding::X264 { video_kbps: 3000 });
        assert_eq!(plan.keyframes, Keyframes::Every(2));
    }

    #[test]
    fn rotated_phone_video_keeps_its_portrait_shape() {
        let plan = plan_of("rotated_90");
        assert_eq!(plan.display_size, (1080, 1920));
        assert!(!plan.copy_source);
        assert!(matches!(
            plan.transcode_reasons[..],
            [TranscodeReason::Rotated(_)]
        ));
        // 1920 lines is above every configured rung: the 1080-line rung is the top.
        assert_eq!(
            shapes(&plan),
            [
                ("360p".into(), 202, 360, false),
                ("480p".into(), 270, 480, false),
                ("720p".into(), 406, 720, false),
                ("1080p".into(), 608, 1080, false),
            ]
        );
        assert!(plan.rungs.iter().all(|r| r.width % 2 == 0));
        assert_eq!((plan.thumbnails.width, plan.thumbnails.height), (160, 284));
    }

    #[test]
    fn portrait_h264_source_is_copied_at_its_own_height() {
        let plan = plan_of("portrait_1080x1920");
        assert!(plan.copy_source);
        assert_eq!(shapes(&plan)[0], ("1920p".into(), 1080, 1920, true));
        assert_eq!(plan.rungs.len(), 5);
    }

    #[test]
    fn variable_frame_rate_is_encoded_at_a_constant_rate() {
        let plan = plan_of("vfr");
        assert!(!plan.copy_source);
        assert_eq!(plan.transcode_reasons, [TranscodeReason::VariableFrameRate]);
        assert_eq!(plan.output_fps, Some(24));
        assert_eq!(plan.audio, AudioPlan::None);
    }

    #[test]
    fn odd_codecs_have_their_audio_encoded() {
        let plan = plan_of("mpeg4_mp3");
        assert_eq!(plan.audio, AudioPlan::Aac { kbps: 128 });
        assert_eq!(
            plan.transcode_reasons,
            [TranscodeReason::Codec("mpeg4".into())]
        );
        // 360p source: a single encoded rung at its own height.
        assert_eq!(shapes(&plan), [("360p".into(), 640, 360, false)]);
    }

    #[test]
    fn fast_or_heavy_sources_are_encoded_down() {
        let source = check(&fixture("h264_aac_720p"), &Limits::default()).expect("ok");
        let fast = Source {
            fps: 119.88,
            ..source.clone()
        };
        let plan = plan(&fast, &PlanOptions::default());
        assert_eq!(plan.output_fps, Some(60));
        assert!(matches!(
            plan.transcode_reasons[..],
            [TranscodeReason::FrameRate(_)]
        ));
        let heavy = Source {
            video_bit_rate: Some(40_000_000),
            ..source.clone()
        };
        assert!(plan_of_source(&heavy).transcode_reasons[0]
            .to_string()
            .contains("40000 kb/s"));
        let odd = Source {
            width: 1001,
            height: 701,
            video_codec: "vp9".into(),
            ..source
        };
        let plan = plan_of_source(&odd);
        let top = plan.rungs.last().expect("a rung");
        assert_eq!((top.width, top.height), (1000, 700));
        let one_line_over = Source {
            width: 1280,
            height: 721,
            ..odd
        };
        let plan = plan_of_source(&one_line_over);
        assert_eq!(
            plan.rungs
                .iter()
                .map(|r| (r.name.as_str(), r.encoding))
                .collect::<Vec<_>>(),
            [
                ("360p", Encoding::X264 { video_kbps: 800 }),
                ("480p", Encoding::X264 { video_kbps: 1500 }),
                ("720p", Encoding::X264 { video_kbps: 3000 }),
            ]
        );
    }

    #[test]
    fn anamorphic_source_is_planned_at_its_shown_size() {
        let source = check(&fixture("h264_aac_720p"), &Limits::default()).expect("ok");
        let pal = Source {
            width: 720,
            height: 576,
            sar: crate::vod::probe::Rational::parse("64/45"),
            ..source
        };
        let plan = plan_of_source(&pal);
        assert_eq!(plan.display_size, (1024, 576));
        assert_eq!(plan.transcode_reasons, [TranscodeReason::NonSquarePixels]);
        let top = plan.rungs.last().expect("a rung");
        assert_eq!(
            (top.name.as_str(), top.width, top.height),
            ("576p", 1024, 576)
        );
    }

    #[test]
    fn sparse_keyframes_are_encoded_when_measured() {
        let source = check(&fixture("h264_aac_720p"), &Limits::default()).expect("ok");
        let sparse = Source {
            keyframe_gap: Some(Duration::from_millis(8_300)),
            ..source.clone()
        };
        let plan = plan_of_source(&sparse);
        assert!(!plan.copy_source);
        assert_eq!(
            plan.transcode_reasons[0].to_string(),
            "the source has keyframes up to 8.3 s apart: encoded so it can be cut into short \
             segments"
        );
        let dense = Source {
            keyframe_gap: Some(Duration::from_secs(2)),
            ..source
        };
        assert!(plan_of_source(&dense).copy_source);
    }

    fn plan_of_source(source: &Source) -> VodPlan {
        plan(source, &PlanOptions::default())
    }

    #[test]
    fn poster_and_thumbnails_scale_with_duration() {
        assert_eq!(
            poster_at(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(
            poster_at(Duration::from_secs(7200)),
            Duration::from_secs(10)
        );
        let options = PlanOptions::default();
        let short = thumbnails(Duration::from_secs(2), 1280, 720, &options);
        assert_eq!(short.interval, Duration::from_secs(1));
        assert_eq!((short.width, short.height), (160, 90));
        let long = thumbnails(Duration::from_secs(7200), 1280, 720, &options);
        assert_eq!(long.interval, Duration::from_secs(24));
    }
}
