//! The allowlist for `/hls/{username}/...`: what a player may ask an ingest origin for.
//!
//! The ingest serves `master.m3u8`, `{rendition}/index.m3u8` and `{rendition}/{segment}.ts`
//! (docs/api.md); fMP4 parts and a thumbnail are allowed too. Anything else — traversal, odd
//! names, deeper paths, other file types — is refused before a room lookup happens.

use super::{
    path::{segments, PathError},
    username::Username,
};

/// File types an HLS origin serves.
const EXTENSIONS: &[&str] = &[
    "m3u8", "ts", "m4s", "mp4", "aac", "vtt", "jpg", "png", "webp",
];
/// `{username}/{rendition}/{file}` is the deepest layout.
const MAX_FILE_SEGMENTS: usize = 2;
const MAX_NAME_LEN: usize = 64;

/// A valid HLS request: whose room and which file inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsPath {
    username: Username,
    file: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HlsPathError {
    #[error(transparent)]
    BadPath(#[from] PathError),
    #[error("not an HLS path")]
    NotHls,
    #[error("not a valid username")]
    BadUsername,
    #[error("this file is not served under /hls")]
    BadFile,
}

impl HlsPath {
    /// Parses a full request path such as `/hls/alice/720p/index.m3u8`.
    pub fn parse(path: &str) -> Result<Self, HlsPathError> {
        let parts = segments(path)?;
        let ["hls", user, file @ ..] = parts.as_slice() else {
            return Err(HlsPathError::NotHls);
        };
        let username = Username::parse(user).map_err(|_| HlsPathError::BadUsername)?;
        if file.is_empty() || file.len() > MAX_FILE_SEGMENTS {
            return Err(HlsPathError::BadFile);
        }
        let (dirs, name) = file.split_at(file.len() - 1);
        if !dirs.iter().all(|d| is_plain_name(d)) || !name.iter().all(|n| is_media_file(n)) {
            return Err(HlsPathError::BadFile);
        }
        Ok(Self {
            username,
            file: file.join("/"),
        })
    }

    pub fn username(&self) -> &Username {
        &self.username
    }

    /// The Content-Type the browser gets for this file, from its extension alone: whatever an
    /// origin answers, a viewer's browser never receives HTML or script from `/hls`.
    pub fn content_type(&self) -> &'static str {
        let extension = self.file.rsplit_once('.').map_or("", |(_, e)| e);
        match extension {
            "m3u8" => "application/vnd.apple.mpegurl",
            "ts" => "video/mp2t",
            "m4s" => "video/iso.segment",
            "mp4" => "video/mp4",
            "aac" => "audio/aac",
            "vtt" => "text/vtt; charset=utf-8",
            "jpg" => "image/jpeg",
            "png" => "image/png",
            "webp" => "image/webp",
            _ => "application/octet-stream",
        }
    }

    /// The path to ask the origin for: the same layout the ingest serves.
    pub fn upstream_path(&self) -> String {
        format!("/hls/{}/{}", self.username, self.file)
    }
}

/// `[A-Za-z0-9_-]{1,64}`: rendition folders and file stems.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_media_file(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| is_plain_name(stem) && EXTENSIONS.contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ingest_layout_is_accepted() {
        let master = HlsPath::parse("/hls/alice/master.m3u8");
        assert_eq!(
            master.map(|p| p.upstream_path()),
            Ok("/hls/alice/master.m3u8".into())
        );
        let segment = HlsPath::parse("/hls/alice/720p/seg_00042.ts");
        assert_eq!(
            segment.map(|p| p.upstream_path()),
            Ok("/hls/alice/720p/seg_00042.ts".into())
        );
        // A low-latency part of segment 42.
        let part = HlsPath::parse("/hls/alice/720p/seg_00042-2.ts");
        assert_eq!(
            part.map(|p| p.upstream_path()),
            Ok("/hls/alice/720p/seg_00042-2.ts".into())
        );
    }

    #[test]
    fn content_types_follow_the_extension() {
        let kind = |path: &str| HlsPath::parse(path).map(|p| p.content_type());
        assert_eq!(
            kind("/hls/alice/master.m3u8"),
            Ok("application/vnd.apple.mpegurl")
        );
        assert_eq!(kind("/hls/alice/720p/seg-12.ts"), Ok("video/mp2t"));
        assert_eq!(kind("/hls/alice/thumb.jpg"), Ok("image/jpeg"));
    }

    #[test]
    fn traversal_and_odd_names_are_refused() {
        let cases = [
            (
                "/hls/alice/../bob/master.m3u8",
                HlsPathError::BadPath(PathError::DotOrEmptySegment),
            ),
            (
                "/hls/alice/%2e%2e/x.ts",
                HlsPathError::BadPath(PathError::EscapedSeparator),
            ),
            ("/hls/Alice/master.m3u8", HlsPathError::BadUsername),
            ("/hls/a/master.m3u8", HlsPathError::BadUsername),
            ("/hls/alice", HlsPathError::BadFile),
            ("/hls/alice/master", HlsPathError::BadFile),
            ("/hls/alice/.m3u8", HlsPathError::BadFile),
            ("/hls/alice/key.txt", HlsPathError::BadFile),
            ("/hls/alice/a/b/c.ts", HlsPathError::BadFile),
            ("/hls/alice/a.b/c.ts", HlsPathError::BadFile),
            ("/hls/alice/master.m3u8.bak", HlsPathError::BadFile),
            ("/api/alice/master.m3u8", HlsPathError::NotHls),
        ];
        for (path, expected) in cases {
            assert_eq!(HlsPath::parse(path), Err(expected), "{path}");
        }
    }
}
