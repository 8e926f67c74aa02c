//! The transcoding ladder: which renditions a source gets.
//!
//! Rung 0 always passes the source through (`-c:v copy`: no CPU, no quality loss). Below it come
//! the configured x264 rungs strictly lower than the source, so a 720p source is never upscaled
//! and never encoded twice at its own height. Widths follow the source aspect ratio, rounded to
//! an even number the way ffmpeg's `scale=-2:H` does, so what we announce is what we encode.
//!
//! [`argv`] turns a planned ladder into ffmpeg's command line. Both are pure, so a live pipeline
//! and a VOD worker plan and start ffmpeg the same way.

pub mod argv;

/// One configured x264 rung: output height and target video bit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RungSpec {
    pub height: u32,
    pub video_kbps: u32,
}

/// The default ladder. A 160p rung (`160:250`) can be added via `FERROCAST_HLS_LADDER`; it is
/// off by default because every rung costs CPU on every live stream.
pub const DEFAULT_LADDER: &str = "1080:6000,720:3000,480:1500,360:800";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Copy,
    X264 { video_kbps: u32 },
}

/// One output rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Folder and display name, e.g. `720p`; only `[0-9p]`, so it is safe in paths and URLs.
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub encoding: Encoding,
}

/// The ladder for a source of `width`×`height`.
pub fn plan(width: u32, height: u32, rungs: &[RungSpec]) -> Vec<Variant> {
    let mut variants = vec![Variant {
        name: format!("{height}p"),
        width,
        height,
        encoding: Encoding::Copy,
    }];
    let mut lower: Vec<RungSpec> = rungs
        .iter()
        .copied()
        .filter(|r| r.height < height)
        .collect();
    lower.sort_by_key(|r| std::cmp::Reverse(r.height));
    lower.dedup_by_key(|r| r.height);
    variants.extend(lower.into_iter().map(|rung| Variant {
        name: format!("{}p", rung.height),
        width: scaled_width(width, height, rung.height),
        height: rung.height,
        encoding: Encoding::X264 {
            video_kbps: rung.video_kbps,
        },
    }));
    variants
}

/// `round(target_height * width / height / 2) * 2`, as ffmpeg computes `scale=-2:target_height`.
pub fn scaled_width(width: u32, height: u32, target_height: u32) -> u32 {
    if height == 0 {
        return 2;
    }
    let numerator = u64::from(target_height) * u64::from(width);
    let halves = (numerator + u64::from(height)) / (2 * u64::from(height));
    u32::try_from(halves * 2).unwrap_or(u32::MAX).max(2)
}

/// Peak rate announced for an x264 rung and given to its rate control (`-maxrate`).
pub fn max_kbps(video_kbps: u32) -> u32 {
    video_kbps.saturating_mul(11) / 10
}

/// The `BANDWIDTH` (peak bits per second, audio included) announced for `variant`.
///
/// x264 rungs peak at their `-maxrate`. The copy peaks at whatever the publisher sends: its
/// measured (or announced) rate plus 20 % headroom, or before any measurement the rate of the
/// configured rung closest above its height.
pub fn bandwidth(
    variant: &Variant,
    source_video_kbps: Option<u32>,
    audio_kbps: u32,
    rungs: &[RungSpec],
) -> u64 {
    let video_kbps = match variant.encoding {
        Encoding::X264 { video_kbps } => max_kbps(video_kbps),
        Encoding::Copy => source_video_kbps
            .map(|kbps| kbps.saturating_mul(6) / 5)
            .unwrap_or_else(|| rate_for_height(variant.height, rungs)),
    };
    u64::from(video_kbps.saturating_add(audio_kbps)) * 1000
}

/// The video rate a picture `height` lines high gets: that of the configured rung closest at or
/// above it, else of the highest rung (a source above every rung), else 6000 kb/s.
pub fn rate_for_height(height: u32, rungs: &[RungSpec]) -> u32 {
    rungs
        .iter()
        .filter(|r| r.height >= height)
        .min_by_key(|r| r.height)
        .or_else(|| rungs.iter().max_by_key(|r| r.height))
        .map_or(6000, |r| r.video_kbps)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid ladder {0:?}: expected comma-separated HEIGHT:KBPS pairs, e.g. \"720:3000,480:1500\" (even heights 64–4320, 50–50000 kb/s)")]
pub struct LadderError(pub String);

/// Parses `HEIGHT:KBPS[,HEIGHT:KBPS...]`.
pub fn parse_ladder(text: &str) -> Result<Vec<RungSpec>, LadderError> {
    let error = || LadderError(text.to_owned());
    let mut rungs = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (height, kbps) = pair.split_once(':').ok_or_else(error)?;
        let height: u32 = height.trim().parse().map_err(|_| error())?;
        let video_kbps: u32 = kbps.trim().parse().map_err(|_| error())?;
        if !(64..=4320).contains(&height)
            || !height.is_multiple_of(2)
            || !(50..=50_000).contains(&video_kbps)
        {
            return Err(error());
        }
        rungs.push(RungSpec { height, video_kbps });
    }
    Ok(rungs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_rungs() -> Vec<RungSpec> {
        parse_ladder(DEFAULT_LADDER).expect("default ladder parses")
    }

    fn names(variants: &[Variant]) -> Vec<&str> {
        variants.iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn source_1080p_gets_copy_720_480_360() {
        let ladder = plan(1920, 1080, &default_rungs());
        assert_eq!(names(&ladder), ["1080p", "720p", "480p", "360p"]);
        assert_eq!(ladder[0].encoding, Encoding::Copy);
        assert_eq!((ladder[1].width, ladder[1].height), (1280, 720));
        assert_eq!(ladder[1].encoding, Encoding::X264 { video_kbps: 3000 });
    }

    #[test]
    fn source_720p_gets_copy_480_360() {
        let ladder = plan(1280, 720, &default_rungs());
        assert_eq!(names(&ladder), ["720p", "480p", "360p"]);
        assert_eq!((ladder[1].width, ladder[1].height), (854, 480));
        assert_eq!((ladder[2].width, ladder[2].height), (640, 360));
    }

    #[test]
    fn source_360p_gets_only_its_copy() {
        let ladder = plan(640, 360, &default_rungs());
        assert_eq!(names(&ladder), ["360p"]);
        assert_eq!((ladder[0].width, ladder[0].height), (640, 360));
    }

    #[test]
    fn configured_160p_rung_is_used_below_360p() {
        let rungs = parse_ladder("720:3000,480:1500,360:800,160:250").expect("valid");
        let ladder = plan(1920, 1080, &rungs);
        assert_eq!(names(&ladder), ["1080p", "720p", "480p", "360p", "160p"]);
        assert_eq!(ladder[4].width, 284);
    }

    #[test]
    fn odd_sources_are_never_upscaled() {
        let ladder = plan(1000, 700, &default_rungs());
        assert_eq!(names(&ladder), ["700p", "480p", "360p"]);
        assert!(ladder
            .iter()
            .all(|v| v.width % 2 == 0 || v.encoding == Encoding::Copy));
    }

    #[test]
    fn widths_match_ffmpeg_minus_two_rounding() {
        assert_eq!(scaled_width(1280, 720, 480), 854);
        assert_eq!(scaled_width(1920, 1080, 360), 640);
        assert_eq!(scaled_width(720, 1280, 480), 270); // portrait phone stream
        assert_eq!(scaled_width(0, 0, 480), 2);
    }

    #[test]
    fn bandwidth_is_the_peak_rate_with_audio() {
        let rungs = default_rungs();
        let ladder = plan(1280, 720, &rungs);
        // 480p at 1500 kb/s peaks at its maxrate 1650, plus 128 kb/s audio.
        assert_eq!(bandwidth(&ladder[1], Some(9999), 128, &rungs), 1_778_000);
        // The copy: measured 2000 kb/s + 20 %.
        assert_eq!(bandwidth(&ladder[0], Some(2000), 128, &rungs), 2_528_000);
        // Not measured yet: the 720p rung's rate.
        assert_eq!(bandwidth(&ladder[0], None, 0, &rungs), 3_000_000);
        // Above every rung (a 4K source): the highest rung's rate.
        let uhd = plan(3840, 2160, &rungs);
        assert_eq!(bandwidth(&uhd[0], None, 0, &rungs), 6_000_000);
        assert_eq!(bandwidth(&uhd[0], None, 0, &[]), 6_000_000);
    }

    #[test]
    fn ladder_text_is_validated() {
        assert_eq!(
            parse_ladder(" 720:3000, 480:1500 ").expect("valid"),
            [
                RungSpec {
                    height: 720,
                    video_kbps: 3000
                },
                RungSpec {
                    height: 480,
                    video_kbps: 1500
                }
            ]
        );
        for bad in [
            "720",
            "720:x",
            "721:3000",
            "720:10",
            "99999:3000",
            "-480:100",
        ] {
            assert!(parse_ladder(bad).is_err(), "{bad}");
        }
    }
}
