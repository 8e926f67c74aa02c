//! The master playlist, written by us rather than by ffmpeg: ffmpeg omits `CODECS` for a copied
//! rendition (MEDIA-NOTES pitfall 3), and hls.js and Safari pick renditions by it.

use std::fmt::Write as _;

/// One `#EXT-X-STREAM-INF` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative URI of the variant playlist, e.g. `720p/index.m3u8`.
    pub uri: String,
    /// Peak bits per second, audio included.
    pub bandwidth: u64,
    pub width: u32,
    pub height: u32,
    /// `avc1.PPCCLL[,mp4a.40.N]`.
    pub codecs: String,
}

pub fn render(entries: &[Entry]) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for entry in entries {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{}\"\n{}\n",
            entry.bandwidth, entry.width, entry.height, entry.codecs, entry.uri
        );
    }
    text
}

/// The `CODECS` value of a variant.
pub fn codecs(video: &str, audio_object_type: Option<u8>) -> String {
    match audio_object_type {
        Some(object_type) => format!("{video},mp4a.40.{object_type}"),
        None => video.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_variant_with_bandwidth_resolution_and_codecs() {
        let text = render(&[
            Entry {
                uri: "720p/index.m3u8".into(),
                bandwidth: 2_628_000,
                width: 1280,
                height: 720,
                codecs: codecs("avc1.42c01f", Some(2)),
            },
            Entry {
                uri: "480p/index.m3u8".into(),
                bandwidth: 1_778_000,
                width: 854,
                height: 480,
                codecs: codecs("avc1.64001e", Some(2)),
            },
        ]);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=2628000,RESOLUTION=1280x720,CODECS=\"avc1.42c01f,mp4a.40.2\"\n\
             720p/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1778000,RESOLUTION=854x480,CODECS=\"avc1.64001e,mp4a.40.2\"\n\
             480p/index.m3u8\n"
        );
    }

    #[test]
    fn video_only_codecs_have_no_audio_part() {
        assert_eq!(codecs("avc1.640028", None), "avc1.640028");
        assert_eq!(codecs("avc1.640028", Some(5)), "avc1.640028,mp4a.40.5");
    }
}
