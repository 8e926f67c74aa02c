//! How each output file is stored: its content type and its caching. Segments, init segments,
//! posters and sprites never change under their name (a job writes under a prefix of its own),
//! so a CDN may keep them for a year; playlists and manifests change while rungs join.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const CHANGING: &str = "public, max-age=2";

pub fn kind(path: &Path) -> Kind {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (content_type, cache_control) = match extension.as_str() {
        "m3u8" => ("application/vnd.apple.mpegurl", CHANGING),
        "mpd" => ("application/dash+xml", CHANGING),
        "m4s" => ("video/iso.segment", IMMUTABLE),
        "mp4" => ("video/mp4", IMMUTABLE),
        "jpg" | "jpeg" => ("image/jpeg", IMMUTABLE),
        "vtt" => ("text/vtt", IMMUTABLE),
        _ => ("application/octet-stream", IMMUTABLE),
    };
    Kind {
        content_type,
        cache_control,
    }
}

/// Playlists and manifests go up after what they name.
pub fn is_playlist(path: &Path) -> bool {
    kind(path).cache_control == CHANGING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_immutable_and_playlists_are_not() {
        assert_eq!(kind(Path::new("360p/1.m4s")).cache_control, IMMUTABLE);
        assert_eq!(kind(Path::new("360p/init.mp4")).content_type, "video/mp4");
        assert!(is_playlist(Path::new("master.m3u8")));
        assert!(is_playlist(Path::new("manifest.mpd")));
        assert!(!is_playlist(Path::new("poster.jpg")));
        assert_eq!(kind(Path::new("thumbnails.vtt")).content_type, "text/vtt");
    }
}
