//! What the first bytes of a file say it is. Finalize compares this with the declared content
//! type, so a file that claims to be a video but is a script, a page or an archive is refused
//! before anything processes or serves it.

use super::ContentType;

/// How many leading bytes [`detect`] needs at most.
pub const SNIFF_BYTES: usize = 64;

/// The container the leading bytes belong to, if it is one the catalogue accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// ISO base media (`ftyp` box): MP4, M4V, QuickTime, 3GP.
    IsoMedia,
    /// EBML: WebM and Matroska share it.
    Ebml,
    Jpeg,
    Png,
    WebP,
    Gif,
}

pub fn detect(head: &[u8]) -> Option<Detected> {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some(Detected::IsoMedia);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Detected::Ebml);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Detected::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Detected::Png);
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return Some(Detected::WebP);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some(Detected::Gif);
    }
    None
}

/// Whether bytes that begin with `head` are what `declared` claims. MP4 and QuickTime share
/// the ISO container, WebM and Matroska the EBML one: browsers label the same file either way.
pub fn matches(declared: ContentType, head: &[u8]) -> bool {
    let expected = match declared {
        ContentType::Mp4 | ContentType::QuickTime => Detected::IsoMedia,
        ContentType::WebM | ContentType::Matroska => Detected::Ebml,
        ContentType::Jpeg => Detected::Jpeg,
        ContentType::Png => Detected::Png,
        ContentType::WebP => Detected::WebP,
        ContentType::Gif => Detected::Gif,
    };
    detect(head) == Some(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MP4: &[u8] = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41";

    #[test]
    fn containers_are_told_by_their_magic() {
        assert_eq!(detect(MP4), Some(Detected::IsoMedia));
        assert_eq!(detect(b"\x1a\x45\xdf\xa3\x01\x00"), Some(Detected::Ebml));
        assert_eq!(
            detect(b"\xff\xd8\xff\xe0\x00\x10JFIF"),
            Some(Detected::Jpeg)
        );
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(Detected::Png)
        );
        assert_eq!(detect(b"RIFF\x24\0\0\0WEBPVP8 "), Some(Detected::WebP));
        assert_eq!(detect(b"GIF89a\x01\0"), Some(Detected::Gif));
    }

    #[test]
    fn other_bytes_are_nothing_we_take() {
        for head in [
            &b"<!doctype html><script>"[..],
            b"#!/bin/sh\nrm -rf /",
            b"PK\x03\x04zip",
            b"RIFF\x24\0\0\0AVI LIST",
            b"",
            b"\0\0\0",
        ] {
            assert_eq!(detect(head), None, "{head:?}");
        }
    }

    #[test]
    fn a_declared_type_must_match_its_container() {
        assert!(matches(ContentType::Mp4, MP4));
        assert!(matches(ContentType::QuickTime, MP4));
        assert!(!matches(ContentType::WebM, MP4));
        assert!(!matches(ContentType::Png, MP4));
        assert!(!matches(ContentType::Mp4, b"<html>"));
    }
}
