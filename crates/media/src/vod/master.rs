//! The HLS master playlist of a video whose rungs join one by one (fast start).
//!
//! Each packager run of some streams writes a master of its own, with the measured `BANDWIDTH`
//! and the `CODECS` read from the streams; [`read_packager_master`] takes those facts from it.
//! [`render`] then writes the master to serve, over every rendition finished so far: each video
//! variant refers to the one audio group and counts its codec and bit rate, and there is no
//! audio-only variant (the packager writes one when packaging audio alone; hls.js may pick it and
//! show no picture).

use std::fmt::Write as _;

use m3u8_rs::{AlternativeMediaType, Playlist};

use super::package::AUDIO_GROUP;

/// A packaged video rendition, as its packager run measured it.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoRendition {
    /// Playlist URI relative to the master, e.g. `720p.m3u8`.
    pub uri: String,
    /// Peak bits per second of the video alone.
    pub bandwidth: u64,
    pub average_bandwidth: Option<u64>,
    pub width: u32,
    pub height: u32,
    /// `avc1.PPCCLL`.
    pub codecs: String,
    pub frame_rate: Option<f64>,
}

/// The packaged audio rendition.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioRendition {
    pub uri: String,
    pub name: String,
    pub bandwidth: u64,
    pub average_bandwidth: Option<u64>,
    /// `mp4a.40.2`.
    pub codecs: String,
    pub channels: Option<String>,
}

/// What one packager-written master says about the streams of its run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packaged {
    pub video: Vec<VideoRendition>,
    pub audio: Option<AudioRendition>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterError {
    #[error("the packager's master playlist is too large ({0} bytes)")]
    TooLarge(usize),
    #[error("the packager's master playlist cannot be read: {0}")]
    Unreadable(String),
}

/// A master of a few renditions is a few hundred bytes.
const MAX_MASTER_BYTES: usize = 64 * 1024;

/// Reads a master playlist the packager wrote for one run.
pub fn read_packager_master(text: &str) -> Result<Packaged, MasterError> {
    if text.len() > MAX_MASTER_BYTES {
        return Err(MasterError::TooLarge(text.len()));
    }
    let master = match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MasterPlaylist(master)) => master,
        Ok(Playlist::MediaPlaylist(_)) => {
            return Err(MasterError::Unreadable(
                "a media playlist, not a master".into(),
            ))
        }
        Err(error) => return Err(MasterError::Unreadable(error.to_string())),
    };
    let mut packaged = Packaged::default();
    for variant in master.variants.iter().filter(|v| !v.is_i_frame) {
        let codecs = variant.codecs.clone().unwrap_or_default();
        match &variant.resolution {
            Some(resolution) => packaged.video.push(VideoRendition {
                uri: variant.uri.clone(),
                bandwidth: variant.bandwidth,
                average_bandwidth: variant.average_bandwidth,
                width: u32::try_from(resolution.width).unwrap_or(0),
                height: u32::try_from(resolution.height).unwrap_or(0),
                codecs,
                frame_rate: variant.frame_rate,
            }),
            // The packager's audio-only variant: the audio's own rate and codec.
            None if codecs.starts_with("mp4a") => {
                let media = master.alternatives.iter().find(|m| {
                    m.media_type == AlternativeMediaType::Audio
                        && m.uri.as_deref() == Some(variant.uri.as_str())
                });
                packaged.audio = Some(AudioRendition {
                    uri: variant.uri.clone(),
                    name: media.map_or_else(|| AUDIO_GROUP.to_owned(), |m| m.name.clone()),
                    bandwidth: variant.bandwidth,
                    average_bandwidth: variant.average_bandwidth,
                    codecs,
                    channels: media.and_then(|m| m.channels.clone()),
                });
            }
            None => {}
        }
    }
    Ok(packaged)
}

/// The master to serve: every video rendition finished so far, highest first, each with the
/// audio's codec and rate added, and the audio group once.
pub fn render(video: &[VideoRendition], audio: Option<&AudioRendition>) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if let Some(audio) = audio {
        let _ = write!(
            text,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP}\",NAME=\"{}\",DEFAULT=YES,AUTOSELECT=YES,",
            quoted(&audio.name)
        );
        if let Some(channels) = &audio.channels {
            let _ = write!(text, "CHANNELS=\"{}\",", quoted(channels));
        }
        let _ = writeln!(text, "URI=\"{}\"", quoted(&audio.uri));
    }
    let mut sorted: Vec<&VideoRendition> = video.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse((v.height, v.bandwidth)));
    for variant in sorted {
        let audio_rate = audio.map_or(0, |a| a.bandwidth);
        let _ = write!(
            text,
            "#EXT-X-STREAM-INF:BANDWIDTH={}",
            variant.bandwidth.saturating_add(audio_rate)
        );
        if let Some(average) = variant.average_bandwidth {
            let audio_average = audio.map_or(0, |a| a.average_bandwidth.unwrap_or(a.bandwidth));
            let _ = write!(
                text,
                ",AVERAGE-BANDWIDTH={}",
                average.saturating_add(audio_average)
            );
        }
        let codecs = match audio {
            Some(audio) => format!("{},{}", variant.codecs, audio.codecs),
            None => variant.codecs.clone(),
        };
        let _ = write!(
            text,
            ",RESOLUTION={}x{},CODECS=\"{}\"",
            variant.width,
            variant.height,
            quoted(&codecs)
        );
        if let Some(fps) = variant.frame_rate {
            let _ = write!(text, ",FRAME-RATE={fps:.3}");
        }
        if audio.is_some() {
            let _ = write!(text, ",AUDIO=\"{AUDIO_GROUP}\"");
        }
        let _ = writeln!(text, "\n{}", variant.uri);
    }
    text
}

/// A quoted-string attribute may hold neither `"` nor a line break (RFC 8216 4.2).
fn quoted(value: &str) -> String {
    value.replace(['"', '\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    // As Shaka Packager v3.8.0 wrote them, for the audio alone and for one video rung alone.
    const AUDIO_RUN: &str = "#EXTM3U\n\
        ## Generated with https://github.com/shaka-project/shaka-packager version v3.8.0-75b2faf-release\n\n\
        #EXT-X-INDEPENDENT-SEGMENTS\n\n\
        #EXT-X-MEDIA:TYPE=AUDIO,URI=\"audio.m3u8\",GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"1\"\n\n\
        #EXT-X-STREAM-INF:BANDWIDTH=74228,AVERAGE-BANDWIDTH=74228,CODECS=\"mp4a.40.2\",AUDIO=\"audio\",CLOSED-CAPTIONS=NONE\n\
        audio.m3u8\n";
    const VIDEO_RUN: &str = "#EXTM3U\n\
        ## Generated with https://github.com/shaka-project/shaka-packager version v3.8.0-75b2faf-release\n\n\
        #EXT-X-INDEPENDENT-SEGMENTS\n\n\
        #EXT-X-STREAM-INF:BANDWIDTH=7403496,AVERAGE-BANDWIDTH=7403496,CODECS=\"avc1.42c01f\",RESOLUTION=1280x720,FRAME-RATE=30.000,CLOSED-CAPTIONS=NONE\n\
        720p.m3u8\n";

    fn rung(height: u32, bandwidth: u64) -> VideoRendition {
        VideoRendition {
            uri: format!("{height}p.m3u8"),
            bandwidth,
            average_bandwidth: None,
            width: height * 16 / 9,
            height,
            codecs: "avc1.64001f".into(),
            frame_rate: None,
        }
    }

    #[test]
    fn packager_masters_give_the_audio_and_video_facts() {
        let audio = read_packager_master(AUDIO_RUN).expect("reads");
        assert!(audio.video.is_empty());
        let audio = audio.audio.expect("audio");
        assert_eq!(audio.uri, "audio.m3u8");
        assert_eq!(audio.bandwidth, 74_228);
        assert_eq!(audio.codecs, "mp4a.40.2");
        assert_eq!(audio.channels.as_deref(), Some("1"));
        let video = read_packager_master(VIDEO_RUN).expect("reads");
        assert_eq!(video.audio, None);
        assert_eq!(
            video.video,
            [VideoRendition {
                uri: "720p.m3u8".into(),
                bandwidth: 7_403_496,
                average_bandwidth: Some(7_403_496),
                width: 1280,
                height: 720,
                codecs: "avc1.42c01f".into(),
                frame_rate: Some(30.0),
            }]
        );
    }

    #[test]
    fn master_lists_finished_rungs_with_the_audio_group_and_no_audio_only_variant() {
        let audio = read_packager_master(AUDIO_RUN).expect("reads").audio;
        let video = read_packager_master(VIDEO_RUN).expect("reads").video;
        assert_eq!(
            render(&video, audio.as_ref()),
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"1\",URI=\"audio.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=7477724,AVERAGE-BANDWIDTH=7477724,RESOLUTION=1280x720,\
             CODECS=\"avc1.42c01f,mp4a.40.2\",FRAME-RATE=30.000,AUDIO=\"audio\"\n\
             720p.m3u8\n"
        );
    }

    #[test]
    fn rungs_joining_later_are_listed_highest_first() {
        let mut done = vec![rung(720, 3_000_000)];
        let first = render(&done, None);
        assert_eq!(first.matches("#EXT-X-STREAM-INF").count(), 1);
        done.push(rung(360, 880_000));
        done.push(rung(480, 1_650_000));
        let later = render(&done, None);
        let order: Vec<&str> = later.lines().filter(|l| l.ends_with(".m3u8")).collect();
        assert_eq!(order, ["720p.m3u8", "480p.m3u8", "360p.m3u8"]);
        assert!(!later.contains("AUDIO="), "{later}");
        assert!(later.contains("CODECS=\"avc1.64001f\""));
    }

    #[test]
    fn unreadable_masters_are_errors() {
        assert!(matches!(
            read_packager_master("not a playlist"),
            Err(MasterError::Unreadable(_))
        ));
        assert!(matches!(
            read_packager_master(&"#".repeat(MAX_MASTER_BYTES + 1)),
            Err(MasterError::TooLarge(_))
        ));
    }
}
