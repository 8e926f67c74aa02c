//! The path allowlist of the origin. Every URL component is checked before it touches the file
//! system: a short, plain-ASCII name with no `..` and a known extension cannot leave the session
//! folder, whatever percent-encoding, NUL bytes or unicode tricks the request used (axum decodes
//! the path first, so `%2e%2e` arrives here as `..`).

const MAX_NAME: usize = 64;

/// Usernames as the users service allows them (lowercase, digits, underscore).
pub fn is_username(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A rendition folder name such as `720p`.
pub fn is_rendition(name: &str) -> bool {
    is_plain(name) && !name.contains('.')
}

/// What a served file is, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Playlist,
    TransportStream,
    Mp4,
}

impl FileKind {
    pub fn of(name: &str) -> Option<Self> {
        if !is_plain(name) {
            return None;
        }
        match name.rsplit_once('.')?.1 {
            "m3u8" => Some(Self::Playlist),
            "ts" => Some(Self::TransportStream),
            "m4s" | "mp4" => Some(Self::Mp4),
            _ => None,
        }
    }

    /// The metric label of requests for this kind of file.
    pub fn label(self) -> &'static str {
        match self {
            Self::Playlist => "playlist",
            Self::TransportStream => "segment",
            Self::Mp4 => "mp4",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Playlist => "application/vnd.apple.mpegurl",
            Self::TransportStream => "video/mp2t",
            Self::Mp4 => "video/mp4",
        }
    }

    /// Playlists change every segment; segment names are unique per session and never rewritten.
    pub fn cache_control(self) -> &'static str {
        match self {
            Self::Playlist => "no-cache",
            Self::TransportStream | Self::Mp4 => "public, max-age=31536000, immutable",
        }
    }
}

pub fn is_file_name(name: &str) -> bool {
    FileKind::of(name).is_some()
}

/// `[A-Za-z0-9_.-]{1,64}`, not starting with a dot, no `..`.
fn is_plain(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_ffmpeg_writes() {
        assert!(is_username("alice_01"));
        assert!(is_rendition("720p"));
        assert_eq!(FileKind::of("index.m3u8"), Some(FileKind::Playlist));
        assert_eq!(
            FileKind::of("0123abcd_00042.ts"),
            Some(FileKind::TransportStream)
        );
        assert_eq!(FileKind::of("init.mp4"), Some(FileKind::Mp4));
        assert_eq!(FileKind::of("seg-1.m4s"), Some(FileKind::Mp4));
    }

    #[test]
    fn rejects_traversal_and_odd_names() {
        let long = "a".repeat(10 * 1024);
        let long_ts = format!("{long}.ts");
        for bad in [
            "..",
            "../x.ts",
            "..%2f",
            "%2e%2e",
            ".hidden.ts",
            "a..ts",
            "a/b.ts",
            "a\\b.ts",
            "a\0.ts",
            "é.ts",
            "ｓｅｇ.ts",
            "seg.ts\u{202e}",
            "",
            long_ts.as_str(),
            "index.m3u8.tmp",
            "master.m3u8 ",
            "passwd",
            "x.html",
        ] {
            assert!(!is_file_name(bad), "file {bad:?}");
        }
        for bad in ["..", "720p.", "a/b", "", "Ü", long.as_str()] {
            assert!(!is_rendition(bad), "rendition {bad:?}");
        }
        for bad in ["Alice", "al ice", "..", "a-b", "", long.as_str(), "ａ"] {
            assert!(!is_username(bad), "username {bad:?}");
        }
    }

    #[test]
    fn content_types_and_caching_by_kind() {
        assert_eq!(
            FileKind::Playlist.content_type(),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(FileKind::TransportStream.content_type(), "video/mp2t");
        assert_eq!(FileKind::Playlist.cache_control(), "no-cache");
        assert!(FileKind::TransportStream
            .cache_control()
            .contains("immutable"));
    }
}
