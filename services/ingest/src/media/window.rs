//! The live playlist of the native passthrough rendition: a sliding window of the newest
//! segments, rendered with the `m3u8-rs` crate, and which files may be deleted as it slides.
//!
//! Like ffmpeg's `delete_segments` with `hls_delete_threshold 3`, a segment leaves the disk
//! only three segments after it left the playlist, so a player that read the previous playlist
//! can still fetch it. Per RFC 8216 the discontinuity sequence counts every
//! `#EXT-X-DISCONTINUITY` that slid out, and the target duration never shrinks.

use std::collections::VecDeque;

use m3u8_rs::{MediaPlaylist, MediaSegment};

/// Segments kept on disk after they left the playlist.
const KEEP_AFTER_WINDOW: usize = 3;

/// The origin holds a reload that asks for the next segment (`_HLS_msn`) until it is listed
/// (`hls::live`), so players learn of it at once instead of at their next poll. `m3u8-rs` does
/// not write playlist-level tags of its own, hence the line.
const SERVER_CONTROL: &str = "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n";

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    name: String,
    duration_ms: u64,
    discontinuity: bool,
}

#[derive(Debug, Clone)]
pub struct Window {
    capacity: usize,
    entries: VecDeque<Entry>,
    /// Media sequence number of the first entry.
    first_sequence: u64,
    discontinuity_sequence: u64,
    target_seconds: u64,
    retired: VecDeque<String>,
}

impl Window {
    pub fn new(capacity: u32, target_seconds: u32) -> Self {
        Self {
            capacity: usize::try_from(capacity.max(1)).unwrap_or(usize::MAX),
            entries: VecDeque::new(),
            first_sequence: 0,
            discontinuity_sequence: 0,
            target_seconds: u64::from(target_seconds.max(1)),
            retired: VecDeque::new(),
        }
    }

    /// Media sequence number the next segment gets (names follow it).
    pub fn next_sequence(&self) -> u64 {
        self.first_sequence + self.entries.len() as u64
    }

    /// Lists a new segment; returns the files now safe to delete.
    pub fn push(&mut self, name: String, duration_ms: u64, discontinuity: bool) -> Vec<String> {
        // EXTINF rounded to the nearest second must not exceed the target duration.
        self.target_seconds = self.target_seconds.max((duration_ms + 500) / 1000);
        self.entries.push_back(Entry {
            name,
            duration_ms,
            discontinuity,
        });
        while self.entries.len() > self.capacity {
            let Some(left) = self.entries.pop_front() else {
                break;
            };
            self.first_sequence += 1;
            self.discontinuity_sequence += u64::from(left.discontinuity);
            self.retired.push_back(left.name);
        }
        let expired = self.retired.len().saturating_sub(KEEP_AFTER_WINDOW);
        self.retired.drain(..expired).collect()
    }

    /// Media sequence number of the newest listed segment.
    pub fn last_sequence(&self) -> Option<u64> {
        self.next_sequence()
            .checked_sub(1)
            .filter(|_| !self.is_empty())
    }

    /// Names of the segments on disk: those slid out but not yet deleted, then those listed.
    pub fn on_disk(&self) -> impl Iterator<Item = &str> {
        self.retired
            .iter()
            .chain(self.entries.iter().map(|entry| &entry.name))
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The playlist text; `ended` adds `#EXT-X-ENDLIST`.
    pub fn render(&self, ended: bool) -> String {
        let playlist = MediaPlaylist {
            version: Some(3),
            target_duration: self.target_seconds,
            media_sequence: self.first_sequence,
            discontinuity_sequence: self.discontinuity_sequence,
            independent_segments: true,
            end_list: ended,
            segments: self
                .entries
                .iter()
                .map(|entry| MediaSegment {
                    uri: entry.name.clone(),
                    duration: entry.duration_ms as f32 / 1000.0,
                    discontinuity: entry.discontinuity,
                    ..MediaSegment::default()
                })
                .collect(),
            ..MediaPlaylist::default()
        };
        let mut text = Vec::new();
        playlist
            .write_to(&mut text)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        let mut text = String::from_utf8_lossy(&text).into_owned();
        // Right after the header's first line, where every reader looks for playlist tags.
        let header_end = text.find('\n').map_or(text.len(), |at| at + 1);
        text.insert_str(header_end, SERVER_CONTROL);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(n: u64) -> String {
        format!("ab12cd34_{n:05}.ts")
    }

    #[test]
    fn lists_the_newest_segments_and_frees_old_ones_three_behind() {
        let mut window = Window::new(3, 1);
        let mut deleted = Vec::new();
        for n in 0..8 {
            assert_eq!(window.next_sequence(), n);
            deleted.extend(window.push(segment(n), 1000, false));
        }
        assert_eq!(deleted, [segment(0), segment(1)]);
        let on_disk: Vec<&str> = window.on_disk().collect();
        assert_eq!(on_disk, (2..8).map(segment).collect::<Vec<_>>());
        let text = window.render(false);
        assert!(
            text.starts_with(
                "#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-VERSION:3\n"
            ),
            "{text}"
        );
        assert_eq!(window.last_sequence(), Some(7));
        assert_eq!(Window::new(3, 1).last_sequence(), None);
        assert!(text.contains("#EXT-X-TARGETDURATION:1\n"), "{text}");
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:5\n"), "{text}");
        let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(listed, [segment(5), segment(6), segment(7)]);
        assert!(text.contains("#EXTINF:1,"), "{text}");
        assert!(!text.contains("ENDLIST"));
        assert!(window.render(true).trim_end().ends_with("#EXT-X-ENDLIST"));
    }

    #[test]
    fn target_duration_grows_with_a_longer_segment_and_never_shrinks() {
        let mut window = Window::new(2, 1);
        window.push(segment(0), 2400, false);
        window.push(segment(1), 1000, false);
        window.push(segment(2), 1000, false);
        let text = window.render(false);
        assert!(text.contains("#EXT-X-TARGETDURATION:2\n"), "{text}");
        assert!(text.contains("#EXTINF:1,"), "{text}");
    }

    #[test]
    fn discontinuities_that_slide_out_are_counted() {
        let mut window = Window::new(2, 1);
        window.push(segment(0), 1000, false);
        window.push(segment(1), 1000, true);
        let text = window.render(false);
        assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{text}");
        window.push(segment(2), 1000, false);
        window.push(segment(3), 1000, false);
        let text = window.render(false);
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "{text}");
        assert!(!text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
    }
}
