//! Configuration of the media pipeline, read from `FERROCAST_*` variables.
//!
//! The ingest `Config` reads this struct as its `media` section. Its numeric fields parse strings
//! themselves (see [`de`]), so it also reads where serde hands every value over as a string, as
//! inside `#[serde(flatten)]`.

use std::{path::PathBuf, time::Duration};

use ferrocast_media::ladder::{self, RungSpec};
use serde::Deserialize;

/// x264 presets ffmpeg accepts; anything else is refused at start rather than by ffmpeg later.
const X264_PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];

/// x264 tunings that make sense for live video; empty means none.
const X264_TUNES: &[&str] = &[
    "",
    "zerolatency",
    "film",
    "animation",
    "grain",
    "stillimage",
];

#[derive(Debug, Clone, Deserialize)]
pub struct MediaConfig {
    /// `FERROCAST_FFMPEG_PATH`: the ffmpeg binary (looked up in `PATH` when bare).
    #[serde(default = "default_ffmpeg_path")]
    pub ffmpeg_path: PathBuf,
    /// `FERROCAST_HLS_ROOT`: sessions write under `{root}/{username}/{session_id}/`.
    #[serde(default = "default_hls_root")]
    pub hls_root: PathBuf,
    /// `FERROCAST_HLS_SEGMENT_SECONDS`: target segment length (segments cut at source keyframes).
    #[serde(default = "default_segment_seconds", deserialize_with = "de::positive")]
    pub hls_segment_seconds: u32,
    /// `FERROCAST_HLS_PLAYLIST_WINDOW`: segments listed in a live playlist.
    #[serde(default = "default_playlist_window", deserialize_with = "de::positive")]
    pub hls_playlist_window: u32,
    /// `FERROCAST_HLS_LADDER`: x264 rungs as `HEIGHT:KBPS,...` (see [`ladder::DEFAULT_LADDER`]).
    #[serde(default = "default_ladder", deserialize_with = "de::ladder")]
    pub hls_ladder: Vec<RungSpec>,
    /// `FERROCAST_HLS_X264_PRESET`: speed/quality trade-off of the transcoded rungs.
    #[serde(default = "default_preset", deserialize_with = "de::preset")]
    pub hls_x264_preset: String,
    /// `FERROCAST_HLS_X264_TUNE`: `zerolatency` by default. It drops x264's lookahead and
    /// B-frames, which held each transcoded frame ≈ 0.5 s and made the ABR ladder miss the 1.5 s
    /// publish → playable target, at the cost of some compression efficiency.
    /// Empty: no tuning.
    #[serde(default = "default_tune", deserialize_with = "de::tune")]
    pub hls_x264_tune: String,
    /// Who writes the passthrough rendition. `Native` (always, in a deployment): the ingest
    /// remuxes the source into MPEG-TS itself, so a stream without transcoded rungs runs no
    /// ffmpeg at all (an ffmpeg per passthrough stream cost as much CPU as the ingest and 54 MiB
    /// each). Sources it cannot remux (audio that is not AAC-LC/Main/SSR/LTP) still go through
    /// ffmpeg. `Ffmpeg` is not read from the environment, since no deployment needs it: tests
    /// that crash or orphan the pipeline's ffmpeg set it to have one per stream.
    #[serde(skip)]
    pub hls_copy_muxer: CopyMuxer,
    /// `FERROCAST_HLS_PART_MILLIS`: low-latency HLS (default 334 ms; `0` = off). Every natively
    /// written rendition (the remuxed passthrough, and the transcoded rungs ffmpeg hands back as
    /// FLV) also lists partial segments this long (`EXT-X-PART`, MPEG-TS) and hints the next
    /// one, dates its segments, and asks players to sit three parts behind the newest instead of
    /// two segments: ≈ 1.3 s from ingest to screen in hls.js instead of ≈ 2 s. A length not
    /// below the segment length also means off.
    /// Streams whose passthrough goes through ffmpeg (`hls_copy_muxer = ffmpeg`, audio that is
    /// not AAC) stay plain HLS: ffmpeg's HLS muxer writes no parts.
    #[serde(default = "default_part_millis", deserialize_with = "de::millis")]
    pub hls_part_millis: u32,
    /// `FERROCAST_HLS_AUDIO_KBPS`: AAC bit rate when the source audio must be re-encoded.
    #[serde(default = "default_audio_kbps", deserialize_with = "de::positive")]
    pub hls_audio_kbps: u32,
    /// `FERROCAST_HLS_CLEANUP_GRACE_SECONDS`: ended playlists stay served this long, so players
    /// read `#EXT-X-ENDLIST` before the files go.
    #[serde(
        rename = "hls_cleanup_grace_seconds",
        default = "default_cleanup_grace",
        deserialize_with = "de::seconds"
    )]
    pub cleanup_grace: Duration,
    /// `FERROCAST_FFMPEG_STOP_TIMEOUT_SECONDS`: how long ffmpeg may take to finish after its
    /// input closed before it is killed; also bounds a single write to its stdin.
    #[serde(
        rename = "ffmpeg_stop_timeout_seconds",
        default = "default_stop_timeout",
        deserialize_with = "de::seconds"
    )]
    pub stop_timeout: Duration,
    /// `FERROCAST_HLS_STALL_SECONDS`: an ffmpeg that publishes no segment for this long is
    /// treated as crashed. Must exceed the longest source keyframe interval.
    #[serde(
        rename = "hls_stall_seconds",
        default = "default_stall_timeout",
        deserialize_with = "de::seconds"
    )]
    pub stall_timeout: Duration,
    /// `FERROCAST_FFMPEG_MAX_RESTARTS`: restarts of a crashed ffmpeg before the stream ends.
    #[serde(default = "default_max_restarts", deserialize_with = "de::number")]
    pub ffmpeg_max_restarts: u32,
    /// Packets buffered between the RTMP reader and ffmpeg; when full, packets are dropped
    /// until the next keyframe instead of stalling the reader. Not read from the environment:
    /// 1024 packets are ≈ 10 s of a 60 fps source, and tests shorten it to make a queue fill.
    #[serde(skip, default = "default_queue_packets")]
    pub media_queue_packets: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyMuxer {
    #[default]
    Native,
    Ffmpeg,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            ffmpeg_path: default_ffmpeg_path(),
            hls_root: default_hls_root(),
            hls_segment_seconds: default_segment_seconds(),
            hls_playlist_window: default_playlist_window(),
            hls_ladder: default_ladder(),
            hls_x264_preset: default_preset(),
            hls_x264_tune: default_tune(),
            hls_copy_muxer: CopyMuxer::default(),
            hls_part_millis: default_part_millis(),
            hls_audio_kbps: default_audio_kbps(),
            cleanup_grace: default_cleanup_grace(),
            stop_timeout: default_stop_timeout(),
            stall_timeout: default_stall_timeout(),
            ffmpeg_max_restarts: default_max_restarts(),
            media_queue_packets: default_queue_packets(),
        }
    }
}

fn default_ffmpeg_path() -> PathBuf {
    PathBuf::from("ffmpeg")
}
fn default_hls_root() -> PathBuf {
    PathBuf::from(".ferrocast/hls")
}
fn default_segment_seconds() -> u32 {
    1
}
/// A third of the default segment: three parts a segment, a hold-back of one segment.
fn default_part_millis() -> u32 {
    334
}
fn default_playlist_window() -> u32 {
    6
}
fn default_ladder() -> Vec<RungSpec> {
    ladder::parse_ladder(ladder::DEFAULT_LADDER).unwrap_or_default()
}
fn default_preset() -> String {
    "veryfast".to_owned()
}
fn default_tune() -> String {
    "zerolatency".to_owned()
}
fn default_audio_kbps() -> u32 {
    128
}
fn default_cleanup_grace() -> Duration {
    Duration::from_secs(30)
}
fn default_stop_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_stall_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_max_restarts() -> u32 {
    1
}
fn default_queue_packets() -> usize {
    1024
}

/// Deserializers that accept a value as a number or as the string envy hands over.
mod de {
    use std::{fmt::Display, str::FromStr, time::Duration};

    use serde::{de::Error, Deserialize, Deserializer};

    use super::{ladder, RungSpec, X264_PRESETS, X264_TUNES};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }

    fn parse<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr,
        T::Err: Display,
    {
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text.trim().parse().map_err(D::Error::custom),
            Raw::Number(number) => number.to_string().parse().map_err(D::Error::custom),
        }
    }

    pub fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        parse(deserializer)
    }

    pub fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        let value: u32 = parse(deserializer)?;
        if value == 0 {
            return Err(D::Error::custom("must be greater than 0"));
        }
        Ok(value)
    }

    /// `5s`, `250ms`, or a bare number of seconds (`0.5`).
    pub fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        ferrocast_kit::config::duration::seconds(deserializer)
    }

    /// `334ms`, `0.5s`, or a bare number of milliseconds.
    pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        let value = ferrocast_kit::config::duration::whole_millis(deserializer)?;
        u32::try_from(value).map_err(D::Error::custom)
    }

    pub fn ladder<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<RungSpec>, D::Error> {
        let text = String::deserialize(deserializer)?;
        ladder::parse_ladder(&text).map_err(D::Error::custom)
    }

    pub fn preset<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        one_of(deserializer, "preset", X264_PRESETS)
    }

    pub fn tune<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        one_of(deserializer, "tune", X264_TUNES)
    }

    fn one_of<'de, D: Deserializer<'de>>(
        deserializer: D,
        what: &str,
        allowed: &[&str],
    ) -> Result<String, D::Error> {
        let text = String::deserialize(deserializer)?;
        if allowed.contains(&text.as_str()) {
            Ok(text)
        } else {
            Err(D::Error::custom(format!(
                "unknown x264 {what} {text:?} (expected one of {})",
                allowed.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How the ingest `Config` embeds this one.
    #[derive(Deserialize, Debug)]
    struct Outer {
        #[serde(default)]
        #[allow(dead_code)]
        other: Option<String>,
        #[serde(flatten)]
        media: MediaConfig,
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let outer: Outer = ferrocast_kit::config::from_pairs(&[]).expect("defaults");
        assert_eq!(outer.media.hls_segment_seconds, 1);
        assert_eq!(outer.media.hls_x264_preset, "veryfast");
        assert_eq!(outer.media.hls_x264_tune, "zerolatency");
        assert_eq!(outer.media.hls_ladder.len(), 4);
        assert_eq!(outer.media.cleanup_grace, Duration::from_secs(30));
        assert_eq!(outer.media.hls_copy_muxer, CopyMuxer::Native);
        assert_eq!(
            outer.media.hls_part_millis, 334,
            "low-latency parts are on, a third of a segment long"
        );
    }

    #[test]
    fn flattened_numbers_parse_from_env_strings() {
        let outer: Outer = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_HLS_SEGMENT_SECONDS", "2"),
            ("FERROCAST_HLS_LADDER", "480:1500,160:250"),
            ("FERROCAST_HLS_X264_PRESET", "ultrafast"),
            ("FERROCAST_HLS_X264_TUNE", ""),
            ("FERROCAST_HLS_CLEANUP_GRACE_SECONDS", "0.5"),
            ("FERROCAST_HLS_ROOT", "/var/hls"),
            ("FERROCAST_HLS_PART_MILLIS", "0"),
            ("FERROCAST_HLS_STALL_SECONDS", "1500ms"),
        ])
        .expect("valid");
        assert_eq!(outer.media.stall_timeout, Duration::from_millis(1500));
        assert_eq!(outer.media.hls_segment_seconds, 2);
        assert_eq!(outer.media.hls_part_millis, 0, "parts can be turned off");
        assert_eq!(outer.media.hls_ladder.len(), 2);
        assert_eq!(outer.media.hls_x264_preset, "ultrafast");
        assert_eq!(outer.media.hls_x264_tune, "");
        assert_eq!(outer.media.cleanup_grace, Duration::from_millis(500));
        assert_eq!(outer.media.hls_root, PathBuf::from("/var/hls"));
    }

    #[test]
    fn retired_switches_are_not_read() {
        // A service's start refuses these names as unknown (`ferrocast_kit::config::load`);
        // parsing alone leaves the defaults in force.
        let outer: Outer = ferrocast_kit::config::from_pairs(&[
            ("FERROCAST_HLS_COPY_MUXER", "ffmpeg"),
            ("FERROCAST_MEDIA_QUEUE_PACKETS", "32"),
        ])
        .expect("valid");
        assert_eq!(outer.media.hls_copy_muxer, CopyMuxer::Native);
        assert_eq!(outer.media.media_queue_packets, 1024);
        for name in ["FERROCAST_HLS_COPY_MUXER", "FERROCAST_MEDIA_QUEUE_PACKETS"] {
            let error = ferrocast_kit::config::load::<Outer>([(name.to_owned(), "1".to_owned())])
                .expect_err("retired");
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn bad_values_are_refused_at_load() {
        for (name, value) in [
            ("FERROCAST_HLS_SEGMENT_SECONDS", "0"),
            ("FERROCAST_HLS_SEGMENT_SECONDS", "two"),
            ("FERROCAST_HLS_X264_PRESET", "-f null"),
            ("FERROCAST_HLS_X264_TUNE", "zerolatency -f null"),
            ("FERROCAST_HLS_LADDER", "720p"),
        ] {
            assert!(
                ferrocast_kit::config::from_pairs::<Outer>(&[(name, value)]).is_err(),
                "{name}={value}"
            );
        }
    }
}
