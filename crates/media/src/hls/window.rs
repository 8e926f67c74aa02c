//! The live playlist of the native passthrough rendition: a sliding window of the newest
//! segments, rendered with the `m3u8-rs` crate, and which files may be deleted as it slides.
//!
//! A segment that slid out of the playlist stays on disk for its own duration plus that of the
//! longest playlist that listed it (RFC 8216 6.2.2), so a player that read any earlier version
//! can still fetch every segment it names. Per RFC 8216 the discontinuity sequence counts every
//! `#EXT-X-DISCONTINUITY` that slid out, and the target duration never shrinks. Every rendition of
//! one stream advertises the same target duration ([`SharedTarget`]), the longest any of them
//! needs, so a player switching rungs sees one timing.
//!
//! With parts (low-latency HLS, RFC 8216bis 4.4.4.9) the playlist also lists the partial segments
//! of its last [`PART_SEGMENTS`] segments and of the segment in progress, and tells the player to
//! sit `PART-HOLD-BACK` (three part lengths, the spec's recommendation) behind the newest part
//! instead of two whole segments. It ends with `EXT-X-PRELOAD-HINT` naming the part that comes
//! next, which the origin holds a request for until it exists: the spec's way for a player to
//! ask for a part before it is listed, and a last line after the newest URI, without which
//! hls.js takes a playlist that ends on a complete segment for one whose segment is in progress
//! and shifts its timeline by a segment at every such reload. The file on disk leaves parts out:
//! it is read only once the stream ended, when there is no live edge to be near.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use chrono::{DateTime, Utc};
use m3u8_rs::{ExtTag, MediaPlaylist, MediaSegment};

/// The origin holds a reload that asks for the next segment (`_HLS_msn`) until it is listed
/// (`hls::live`), so players learn of it at once instead of at their next poll. `m3u8-rs` does
/// not write playlist-level tags of its own, hence the line.
const SERVER_CONTROL: &str = "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n";

/// Segments whose parts stay listed: three target durations, after which RFC 8216bis 4.4.4.9
/// lets parts go, and a player that far behind loads whole segments anyway.
pub const PART_SEGMENTS: usize = 3;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    name: String,
    duration_ms: u64,
    discontinuity: bool,
    /// Wall-clock time of its first frame (`EXT-X-PROGRAM-DATE-TIME`).
    date: Option<DateTime<Utc>>,
    parts: Vec<PartEntry>,
}

/// A segment that left the playlist, still on disk.
#[derive(Debug, Clone)]
struct Retired {
    name: String,
    duration_ms: u64,
    /// [`Window::elapsed_ms`] when it left.
    left_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct PartEntry {
    name: String,
    duration_ms: u64,
    independent: bool,
}

/// The target duration, in seconds, the renditions of one stream share: each raises it to what
/// its own segments need, and each renders the shared value.
#[derive(Debug, Clone, Default)]
pub struct SharedTarget(Arc<AtomicU64>);

impl SharedTarget {
    fn raise(&self, seconds: u64) -> u64 {
        self.0.fetch_max(seconds, Ordering::Relaxed).max(seconds)
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
pub struct Window {
    capacity: usize,
    entries: VecDeque<Entry>,
    /// Media sequence number of the first entry.
    first_sequence: u64,
    discontinuity_sequence: u64,
    target_seconds: u64,
    retired: VecDeque<Retired>,
    /// Media time listed so far, every segment counted: the clock retired segments age by.
    elapsed_ms: u64,
    /// The longest the playlist has been (sum of its segments' durations).
    longest_playlist_ms: u64,
    /// Longest part, when segments are cut into parts.
    part_target_ms: Option<u64>,
    /// Parts of the segment in progress.
    open_parts: Vec<PartEntry>,
    /// The stream's target duration, when other renditions share it.
    shared_target: Option<SharedTarget>,
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
            elapsed_ms: 0,
            longest_playlist_ms: 0,
            part_target_ms: None,
            open_parts: Vec::new(),
            shared_target: None,
        }
    }

    /// Advertises the target duration shared with the stream's other renditions.
    pub fn sharing_target(mut self, shared: SharedTarget) -> Self {
        shared.raise(self.target_seconds);
        self.shared_target = Some(shared);
        self
    }

    /// The target duration to advertise: this rendition's, or the stream's when shared.
    fn target_seconds(&self) -> u64 {
        self.shared_target
            .as_ref()
            .map_or(self.target_seconds, |shared| {
                shared.get().max(self.target_seconds)
            })
    }

    /// Lists parts no longer than `part_target_ms` (low-latency HLS).
    pub fn with_parts(mut self, part_target_ms: u32) -> Self {
        self.part_target_ms = Some(u64::from(part_target_ms.max(1)));
        self
    }

    /// Lists a part of the segment in progress (the one [`Self::next_sequence`] names).
    pub fn push_part(&mut self, name: String, duration_ms: u64, independent: bool) {
        self.open_parts.push(PartEntry {
            name,
            duration_ms,
            independent,
        });
    }

    /// Parts listed of the segment in progress.
    pub fn open_parts(&self) -> u32 {
        u32::try_from(self.open_parts.len()).unwrap_or(u32::MAX)
    }

    /// Names of the parts listed.
    pub fn listed_parts(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .skip(self.first_with_parts())
            .flat_map(|entry| &entry.parts)
            .chain(&self.open_parts)
            .map(|part| part.name.as_str())
    }

    /// Index of the first entry whose parts are listed: the origin keeps exactly the parts the
    /// playlist lists, so both ask here.
    fn first_with_parts(&self) -> usize {
        self.entries.len().saturating_sub(PART_SEGMENTS)
    }

    /// Media sequence number the next segment gets (names follow it).
    pub fn next_sequence(&self) -> u64 {
        self.first_sequence + self.entries.len() as u64
    }

    /// Lists a new segment, dated by the wall clock when `date` is given; returns the files now
    /// safe to delete: those that left the playlist at least their own duration plus the longest
    /// playlist's ago (the longest overall, at least that of any playlist that listed them).
    pub fn push(
        &mut self,
        name: String,
        duration_ms: u64,
        discontinuity: bool,
        date: Option<DateTime<Utc>>,
    ) -> Vec<String> {
        // EXTINF rounded to the nearest second must not exceed the target duration.
        self.target_seconds = self.target_seconds.max((duration_ms + 500) / 1000);
        if let Some(shared) = &self.shared_target {
            self.target_seconds = shared.raise(self.target_seconds);
        }
        // The playlist that lists it, and no longer lists whatever slides out, is published
        // once it is complete.
        self.elapsed_ms = self.elapsed_ms.saturating_add(duration_ms);
        self.entries.push_back(Entry {
            name,
            duration_ms,
            discontinuity,
            date,
            parts: std::mem::take(&mut self.open_parts),
        });
        while self.entries.len() > self.capacity {
            let Some(left) = self.entries.pop_front() else {
                break;
            };
            self.first_sequence += 1;
            self.discontinuity_sequence += u64::from(left.discontinuity);
            self.retired.push_back(Retired {
                name: left.name,
                duration_ms: left.duration_ms,
                left_at_ms: self.elapsed_ms,
            });
        }
        let listed_ms: u64 = self.entries.iter().map(|entry| entry.duration_ms).sum();
        // With parts it also spans the segment in progress, up to a target duration more.
        let in_progress_ms = self
            .part_target_ms
            .map_or(0, |_| self.target_seconds() * 1000);
        self.longest_playlist_ms = self.longest_playlist_ms.max(listed_ms + in_progress_ms);
        let mut expired = Vec::new();
        while let Some(oldest) = self.retired.front() {
            let retention = oldest.duration_ms + self.longest_playlist_ms;
            if self.elapsed_ms.saturating_sub(oldest.left_at_ms) < retention {
                break;
            }
            expired.extend(self.retired.pop_front().map(|retired| retired.name));
        }
        expired
    }

    /// Names of the segments on disk: those slid out but not yet deleted, then those listed.
    pub fn on_disk(&self) -> impl Iterator<Item = &str> {
        self.retired
            .iter()
            .map(|retired| &retired.name)
            .chain(self.entries.iter().map(|entry| &entry.name))
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The playlist text; `ended` adds `#EXT-X-ENDLIST`. With `next_part` (the name the next
    /// part will have) it also lists the parts, if the window cuts any, and while live hints
    /// that next part.
    pub fn render(&self, ended: bool, next_part: Option<&str>) -> String {
        let part_target = self.part_target_ms.filter(|_| next_part.is_some());
        let parts_from = self.first_with_parts();
        let playlist = MediaPlaylist {
            version: Some(3),
            target_duration: self.target_seconds(),
            media_sequence: self.first_sequence,
            discontinuity_sequence: self.discontinuity_sequence,
            independent_segments: true,
            end_list: ended,
            segments: self
                .entries
                .iter()
                .enumerate()
                .map(|(at, entry)| MediaSegment {
                    uri: entry.name.clone(),
                    duration: entry.duration_ms as f32 / 1000.0,
                    discontinuity: entry.discontinuity,
                    program_date_time: entry.date.map(|date| date.fixed_offset()),
                    unknown_tags: match part_target {
                        Some(_) if at >= parts_from => entry.parts.iter().map(part_tag).collect(),
                        _ => Vec::new(),
                    },
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
        match part_target {
            None => text.insert_str(header_end, SERVER_CONTROL),
            Some(target_ms) => {
                text.insert_str(header_end, &low_latency_header(target_ms));
                // The segment in progress: after the last one, where the playlist ends.
                if let (false, Some(next)) = (ended, next_part) {
                    for part in &self.open_parts {
                        text.push_str(&part_tag(part).to_string());
                        text.push('\n');
                    }
                    text.push_str(&format!("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{next}\"\n"));
                }
            }
        }
        text
    }
}

/// Blocking reloads, the player's distance from the newest part, and the longest part.
fn low_latency_header(part_target_ms: u64) -> String {
    format!(
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}\n\
         #EXT-X-PART-INF:PART-TARGET={}\n",
        seconds(3 * part_target_ms),
        seconds(part_target_ms)
    )
}

fn part_tag(part: &PartEntry) -> ExtTag {
    let independent = if part.independent {
        ",INDEPENDENT=YES"
    } else {
        ""
    };
    ExtTag {
        tag: "X-PART".to_owned(),
        rest: Some(format!(
            "DURATION={},URI=\"{}\"{independent}",
            seconds(part.duration_ms),
            part.name
        )),
    }
}

/// Milliseconds as decimal seconds, exactly.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(n: u64) -> String {
        format!("ab12cd34_{n:05}.ts")
    }

    #[test]
    fn lists_the_newest_segments_and_frees_old_ones_per_rfc_8216() {
        let mut window = Window::new(3, 1);
        let mut deleted = Vec::new();
        for n in 0..8 {
            assert_eq!(window.next_sequence(), n);
            deleted.extend(window.push(segment(n), 1000, false, None));
        }
        // Segment 0 left the 3 s playlist when segment 3 was listed (at 4 s), and may go
        // 1 s + 3 s later, when segment 7 is listed; segment 1 left a second after it.
        assert_eq!(deleted, [segment(0)]);
        let on_disk: Vec<&str> = window.on_disk().collect();
        assert_eq!(on_disk, (1..8).map(segment).collect::<Vec<_>>());
        let text = window.render(false, None);
        assert!(
            text.starts_with(
                "#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-VERSION:3\n"
            ),
            "{text}"
        );
        assert_eq!(window.next_sequence(), 8);
        assert!(text.contains("#EXT-X-TARGETDURATION:1\n"), "{text}");
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:5\n"), "{text}");
        let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(listed, [segment(5), segment(6), segment(7)]);
        assert!(text.contains("#EXTINF:1,"), "{text}");
        assert!(!text.contains("ENDLIST"));
        assert!(window
            .render(true, None)
            .trim_end()
            .ends_with("#EXT-X-ENDLIST"));
    }

    #[test]
    fn lists_the_parts_of_the_last_segments_and_of_the_one_in_progress() {
        let mut window = Window::new(6, 1).with_parts(334);
        let start = DateTime::parse_from_rfc3339("2026-12-04T20:00:00Z").expect("date");
        for n in 0..5 {
            for k in 0..3 {
                window.push_part(format!("p{n}.{k}.ts"), 333, k == 0);
            }
            let date = start + chrono::Duration::milliseconds(999 * n as i64);
            window.push(segment(n), 999, false, Some(date.to_utc()));
        }
        window.push_part("p5.0.ts".into(), 333, true);
        assert_eq!(window.open_parts(), 1);
        let listed: Vec<&str> = window.listed_parts().collect();
        assert_eq!(listed.len(), PART_SEGMENTS * 3 + 1);
        assert_eq!(listed.first(), Some(&"p2.0.ts"));

        let text = window.render(false, Some("p5.1.ts"));
        assert!(
            text.starts_with(
                "#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002\n\
                 #EXT-X-PART-INF:PART-TARGET=0.334\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("p1.2.ts"),
            "parts of older segments go: {text}"
        );
        assert!(
            text.contains(&format!(
                "#EXT-X-PART:DURATION=0.333,URI=\"p4.2.ts\"\n#EXTINF:0.999,\n{}\n",
                segment(4)
            )),
            "a segment's parts come before it: {text}"
        );
        assert!(
            text.contains(
                "#EXT-X-PROGRAM-DATE-TIME:2026-12-04T20:00:03.996Z\n#EXT-X-PART:DURATION=0.333,\
                 URI=\"p4.0.ts\",INDEPENDENT=YES\n"
            ),
            "each segment is dated, before its parts: {text}"
        );
        assert!(
            text.ends_with(
                "#EXT-X-PART:DURATION=0.333,URI=\"p5.0.ts\",INDEPENDENT=YES\n\
                 #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p5.1.ts\"\n"
            ),
            "the segment in progress, then the hint of its next part, end the playlist: {text}"
        );
        let on_disk = window.render(false, None);
        assert!(!on_disk.contains("PART"), "{on_disk}");
        assert!(on_disk.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"));
        window.push(segment(5), 333, false, None);
        assert_eq!(window.open_parts(), 0);
        let at_a_boundary = window.render(false, Some("p6.0.ts"));
        assert!(
            at_a_boundary.ends_with(&format!(
                "{}\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p6.0.ts\"\n",
                segment(5)
            )),
            "with no part of the next segment yet, the hint still follows the newest URI: \
             {at_a_boundary}"
        );
        let ended = window.render(true, Some("p6.0.ts"));
        assert!(
            !ended.contains("PRELOAD-HINT"),
            "nothing comes after the end: {ended}"
        );
    }

    #[test]
    fn renditions_sharing_a_target_all_advertise_the_longest() {
        let shared = SharedTarget::default();
        let mut copy = Window::new(3, 1).sharing_target(shared.clone());
        let mut rung = Window::new(3, 1).sharing_target(shared);
        rung.push("r0.ts".into(), 1000, false, None);
        copy.push("c0.ts".into(), 1999, false, None);
        for text in [copy.render(false, None), rung.render(false, None)] {
            assert!(text.contains("#EXT-X-TARGETDURATION:2\n"), "{text}");
        }
        let alone = {
            let mut window = Window::new(3, 1);
            window.push("a0.ts".into(), 1000, false, None);
            window.render(false, None)
        };
        assert!(alone.contains("#EXT-X-TARGETDURATION:1\n"), "{alone}");
    }

    #[test]
    fn target_duration_grows_with_a_longer_segment_and_never_shrinks() {
        let mut window = Window::new(2, 1);
        window.push(segment(0), 2400, false, None);
        window.push(segment(1), 1000, false, None);
        window.push(segment(2), 1000, false, None);
        let text = window.render(false, None);
        assert!(text.contains("#EXT-X-TARGETDURATION:2\n"), "{text}");
        assert!(text.contains("#EXTINF:1,"), "{text}");
    }

    #[test]
    fn discontinuities_that_slide_out_are_counted() {
        let mut window = Window::new(2, 1);
        window.push(segment(0), 1000, false, None);
        window.push(segment(1), 1000, true, None);
        let text = window.render(false, None);
        assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{text}");
        window.push(segment(2), 1000, false, None);
        window.push(segment(3), 1000, false, None);
        let text = window.render(false, None);
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "{text}");
        assert!(!text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
    }

    #[test]
    fn a_short_segment_waits_out_the_longest_playlist_that_may_have_listed_it() {
        let mut window = Window::new(2, 1);
        let mut deleted = Vec::new();
        // Two 3 s segments make a 6 s playlist; the 1 s ones after them are each kept for
        // 1 s + 6 s once they leave, never less.
        for (n, duration_ms) in [3000, 3000].into_iter().chain([1000; 10]).enumerate() {
            deleted.extend(window.push(segment(n as u64), duration_ms, false, None));
        }
        // Segment 0 left at 7 s (when segment 2 was listed) and may go at 7 + 3 + 6 = 16 s.
        assert_eq!(deleted, [segment(0)]);
        // Segment 1 left at 8 s (until 17 s); segment 2, due at 16 s, waits behind it; 3 left
        // at 10 s and is due at 17 s too; 4 is not.
        assert_eq!(
            window.push(segment(12), 1000, false, None),
            [segment(1), segment(2), segment(3)]
        );
    }
}
