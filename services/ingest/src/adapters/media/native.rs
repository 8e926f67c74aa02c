//! A rendition written by the ingest itself — the remuxed passthrough, or a transcoded rung read
//! back from ffmpeg ([`super::relay`]): the [`Segmenter`]'s segments go to
//! `{session}/{rendition}/` under the same names and playlist layout as ffmpeg's HLS muxer
//! writes, so the origin, the master playlist and cleanup treat every rung alike.
//!
//! A segment file is complete before the playlist names it, so no reader ever sees half a
//! segment. A write that fails ends the rendition; a full disk is named as such so the pipeline
//! does not mistake it for a broken source.
//!
//! Each playlist version also goes to the origin ([`PublishedPlaylist`]) right after the file is
//! written, and is withdrawn when the rendition is dropped; from then on the file on disk (with
//! `#EXT-X-ENDLIST`) is served like any other. So nothing reads the file while it is written,
//! and it is rewritten in place rather than replaced through a temporary: a new file per segment
//! cost an inode allocation each, which on ext4 without a journal scans past every inode freed
//! in the last 30 s (`find_inode_bit`/`recently_deleted`). At 300 passthrough streams on the
//! bench machine, inode allocation was 31 % of the ingest's CPU (perf) with a new playlist file
//! per segment, 5 % with only the segment files left. In place also needs no free block on a
//! full disk, where it reuses its own, so the playlist of a stream ended by ENOSPC still lists
//! what was written.
//!
//! A segment's disk work (segment, playlist, expired files) is one trip to the blocking pool:
//! each `tokio::fs` call is a hand-over to a pool thread and back, four per segment before.
//!
//! With parts (low-latency HLS, `FERROCAST_HLS_PART_MILLIS`) each part goes only to the origin,
//! with a playlist version that lists it; the segment file and the playlist on disk (without
//! parts) are written when the segment completes, as without parts. Segments are then dated
//! (`EXT-X-PROGRAM-DATE-TIME`, which RFC 8216bis requires of low-latency playlists and by which
//! hls.js re-anchors each reload): the wall clock when a segment's first frame arrived, on a
//! clock anchored once per timeline so consecutive dates differ by exactly the durations.

use std::{
    collections::{HashMap, VecDeque},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use ferrocast_media::{
    hls::{
        segmenter::{Part, Segment, Segmenter},
        window::Window,
    },
    MediaPacket,
};

use super::outputs::NO_SPACE;
use crate::adapters::hls::{Edge, PublishedPart, PublishedPlaylist, MAX_CACHED_FILE_BYTES};

const PLAYLIST: &str = "index.m3u8";

pub struct NativeRendition {
    dir: PathBuf,
    /// The rendition's name (its folder's), for messages.
    name: String,
    prefix: String,
    segmenter: Segmenter,
    window: Window,
    published: PublishedPlaylist,
    /// The parts the window lists, oldest first.
    parts: VecDeque<Arc<PublishedPart>>,
    /// Present when segments are dated.
    dates: Option<Dates>,
}

/// The wall-clock time of one moment on the stream's clock (ms), once known.
#[derive(Debug, Default)]
struct Dates {
    anchor: Option<(i64, DateTime<Utc>)>,
}

/// What a rendition's playlist is made of apart from its input: the window (sequence numbers,
/// discontinuities), its origin entry and listed parts, and its clock. A room whose publisher
/// changes (a reconnect, a stalled connection taken over) keeps these, so players reloading the
/// same playlist see it go on behind `#EXT-X-DISCONTINUITY` instead of ending.
pub struct Carried {
    window: Window,
    published: PublishedPlaylist,
    parts: VecDeque<Arc<PublishedPart>>,
    dates: Option<Dates>,
}

/// The renditions of one room set aside between two publishers, by name.
#[derive(Clone, Default)]
pub struct CarriedRenditions(Arc<Mutex<HashMap<String, Carried>>>);

impl std::fmt::Debug for CarriedRenditions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.lock().keys()).finish()
    }
}

impl CarriedRenditions {
    pub fn put(&self, name: String, carried: Carried) {
        self.lock().insert(name, carried);
    }

    pub fn take(&self, name: &str) -> Option<Carried> {
        self.lock().remove(name)
    }

    /// Takes every rendition set aside whose name is not in `keep`: the new publisher's ladder
    /// has no such rung, so its playlist must end.
    pub fn take_all_but(&self, keep: &[&str]) -> Vec<(String, Carried)> {
        let mut carried = self.lock();
        let gone: Vec<String> = carried
            .keys()
            .filter(|name| !keep.contains(&name.as_str()))
            .cloned()
            .collect();
        gone.into_iter()
            .filter_map(|name| carried.remove(&name).map(|c| (name, c)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Carried>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl NativeRendition {
    /// Goes on with a rendition set aside by [`NativeRendition::suspend`]: the same window and
    /// origin entry, cut by `segmenter` (a new publisher's), whose first segment follows a
    /// discontinuity.
    pub async fn resume(
        dir: PathBuf,
        prefix: String,
        segmenter: Segmenter,
        carried: Carried,
    ) -> Result<Self, String> {
        Self::open(dir, prefix, segmenter.after_discontinuity(), carried).await
    }

    /// Publishes the segment in progress and sets the playlist aside, open, for the room's next
    /// publisher.
    pub async fn suspend(mut self) -> Result<Carried, String> {
        let cut = self.segmenter.finish();
        if let Some(part) = cut.part {
            self.list_part(part);
        }
        if let Some(segment) = cut.segment {
            self.publish(segment, false).await?;
        }
        Ok(Carried {
            window: self.window,
            published: self.published,
            parts: self.parts,
            dates: self.dates,
        })
    }

    /// Ends a rendition set aside that the room's new ladder no longer has.
    pub async fn end_carried(dir: PathBuf, carried: Carried) -> Result<(), String> {
        if carried.window.is_empty() {
            return Ok(());
        }
        let playlist = Bytes::from(carried.window.render(true, None));
        let work = DiskWork {
            segment: None,
            playlist,
            expired: Vec::new(),
        };
        let name = rendition_name(&dir);
        tokio::task::spawn_blocking(move || work.run(&dir, &name))
            .await
            .map_err(|error| format!("a rendition's disk task failed: {error}"))?
    }

    /// Creates `dir` (the rendition folder); segments are named `{prefix}_{sequence:05}.ts`,
    /// their parts (when the segmenter and window cut them) `{prefix}_{sequence:05}-{part}.ts`,
    /// names the gateway's path allowlist lets through as well.
    pub async fn create(
        dir: PathBuf,
        prefix: String,
        segmenter: Segmenter,
        window: Window,
        published: PublishedPlaylist,
        dated: bool,
    ) -> Result<Self, String> {
        let fresh = Carried {
            window,
            published,
            parts: VecDeque::new(),
            dates: dated.then(Dates::default),
        };
        Self::open(dir, prefix, segmenter, fresh).await
    }

    /// Creates `dir` and writes on from `state`.
    async fn open(
        dir: PathBuf,
        prefix: String,
        segmenter: Segmenter,
        state: Carried,
    ) -> Result<Self, String> {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|error| describe("create the folder", &rendition_name(&dir), &error))?;
        Ok(Self {
            name: rendition_name(&dir),
            dir,
            prefix,
            segmenter,
            window: state.window,
            published: state.published,
            parts: state.parts,
            dates: state.dates,
        })
    }

    /// Takes one packet; returns whether it completed (and published) a segment.
    pub async fn push(&mut self, packet: &MediaPacket) -> Result<bool, String> {
        let cut = self
            .segmenter
            .push(packet)
            .map_err(|error| format!("native remux failed: {error}"))?;
        let new_part = cut.part.is_some();
        if let Some(part) = cut.part {
            self.list_part(part);
        }
        match cut.segment {
            Some(segment) => self.publish(segment, false).await.map(|()| true),
            None => {
                if new_part {
                    self.publish_parts();
                }
                Ok(false)
            }
        }
    }

    /// Publishes the segment in progress and closes the playlist with `#EXT-X-ENDLIST`.
    pub async fn finish(&mut self) -> Result<(), String> {
        let cut = self.segmenter.finish();
        if let Some(part) = cut.part {
            self.list_part(part);
        }
        match cut.segment {
            Some(segment) => self.publish(segment, true).await,
            None if self.window.is_empty() => Ok(()),
            None => self.write_playlist(true).await,
        }
    }

    /// Adds `part` to the segment in progress and keeps its bytes for as long as it is listed.
    fn list_part(&mut self, part: Part) {
        let name = self.next_part_name();
        self.window
            .push_part(name.clone(), part.duration_ms, part.independent);
        self.parts
            .push_back(Arc::new(PublishedPart::new(name, part.bytes)));
    }

    /// The name the part after the newest listed one will have.
    fn next_part_name(&self) -> String {
        format!(
            "{}_{:05}-{}.ts",
            self.prefix,
            self.window.next_sequence(),
            self.window.open_parts()
        )
    }

    /// Hands the origin a version that lists the newest part (nothing changes on disk).
    fn publish_parts(&mut self) {
        let next = self.next_part_name();
        let playlist = Bytes::from(self.window.render(false, Some(&next)));
        self.publish_version(playlist, Some(next));
    }

    /// When `segment` began by the wall clock, if segments are dated. The clock is anchored at
    /// the first segment, and again after a discontinuity (a new timeline), at the moment it
    /// completed less its duration.
    fn date(&mut self, segment: &Segment) -> Option<DateTime<Utc>> {
        let anchor = &mut self.dates.as_mut()?.anchor;
        let (stream_ms, wall) = match anchor {
            Some(anchor) if !segment.discontinuity => *anchor,
            _ => *anchor.insert((
                segment.start_ms,
                Utc::now() - milliseconds(segment.duration_ms),
            )),
        };
        Some(wall + TimeDelta::milliseconds(segment.start_ms - stream_ms))
    }

    async fn publish(&mut self, segment: Segment, ended: bool) -> Result<(), String> {
        let name = format!("{}_{:05}.ts", self.prefix, self.window.next_sequence());
        let date = self.date(&segment);
        let mut window = self.window.clone();
        let expired = window.push(
            name.clone(),
            segment.duration_ms,
            segment.discontinuity,
            date,
        );
        self.store(window, Some((name, segment.chunks)), expired, ended)
            .await
    }

    async fn write_playlist(&mut self, ended: bool) -> Result<(), String> {
        self.store(self.window.clone(), None, Vec::new(), ended)
            .await
    }

    /// Puts `window`'s playlist (after `segment`, before removing `expired`) on disk, then makes
    /// it the rendition's window and hands it to the origin: the window moves on only once the
    /// segment is on disk.
    async fn store(
        &mut self,
        window: Window,
        segment: Option<(String, Vec<Bytes>)>,
        expired: Vec<String>,
        ended: bool,
    ) -> Result<(), String> {
        let playlist = Bytes::from(window.render(ended, None));
        // The segment's parts, by name and length, to be found in its file once it is written.
        let written = segment
            .as_ref()
            .filter(|_| !self.parts.is_empty())
            .map(|(name, chunks)| {
                let lengths: Vec<usize> = chunks.iter().map(Bytes::len).collect();
                (name.clone(), lengths)
            });
        let work = DiskWork {
            segment,
            playlist: playlist.clone(),
            expired,
        };
        let dir = self.dir.clone();
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || work.run(&dir, &name))
            .await
            .map_err(|error| {
                format!("the {} rendition's disk task failed: {error}", self.name)
            })??;
        if let Some((segment, lengths)) = written {
            self.find_parts_in(&segment, &lengths);
        }
        self.window = window;
        if !self.window.is_empty() {
            if self.parts.is_empty() {
                self.publish_version(playlist, None);
            } else {
                let next = self.next_part_name();
                let playlist = Bytes::from(self.window.render(ended, Some(&next)));
                self.publish_version(playlist, (!ended).then_some(next));
            }
        }
        Ok(())
    }

    /// Drops the bytes of the parts of `segment`, now on disk, the newest `lengths.len()` parts:
    /// from now on each is answered as its range of the segment's file, which is read only if
    /// someone asks for the segment or one of its parts.
    fn find_parts_in(&mut self, segment: &str, lengths: &[usize]) {
        let Some(first) = self.parts.len().checked_sub(lengths.len()) else {
            return;
        };
        // The origin reads a segment into memory only up to this size; past it (a very high bit
        // rate with long segments) its parts keep their bytes.
        let size = lengths.iter().sum::<usize>();
        if u64::try_from(size).map_or(true, |size| size > MAX_CACHED_FILE_BYTES) {
            return;
        }
        // They are the segment's chunks, in order; a part whose size differs would be served
        // the wrong bytes, so then they all keep theirs.
        let sizes_match = self
            .parts
            .range(first..)
            .zip(lengths)
            .all(|(part, length)| part.held_len() == Some(*length));
        if !sizes_match {
            return;
        }
        let mut offset = 0;
        for (part, length) in self.parts.range_mut(first..).zip(lengths) {
            *part = Arc::new(part.within(segment, offset..offset + length));
            offset += length;
        }
    }

    /// Hands the origin `playlist`, the window's current text, with the segments on disk, the
    /// parts it lists (dropping the bytes of parts no longer listed) and the part it hints at.
    fn publish_version(&mut self, playlist: Bytes, hint: Option<String>) {
        let listed = self.window.listed_parts().count();
        let unlisted = self.parts.len().saturating_sub(listed);
        self.parts.drain(..unlisted);
        let on_disk: Vec<&str> = self.window.on_disk().collect();
        let edge = Edge {
            sequence: self.window.next_sequence(),
            parts: self.window.open_parts(),
        };
        self.published
            .put_hinting(playlist, edge, &on_disk, self.parts.make_contiguous(), hint);
    }
}

/// What one playlist version needs on disk, in this order.
struct DiskWork {
    segment: Option<(String, Vec<Bytes>)>,
    playlist: Bytes,
    expired: Vec<String>,
}

impl DiskWork {
    fn run(self, dir: &Path, rendition: &str) -> Result<(), String> {
        if let Some((name, chunks)) = &self.segment {
            let path = dir.join(name);
            if let Err(error) = write_chunks(&path, chunks) {
                // A partial segment holds space a full disk needs back.
                let _ = std::fs::remove_file(&path);
                return Err(describe("write a segment", rendition, &error));
            }
        }
        std::fs::write(dir.join(PLAYLIST), &self.playlist)
            .map_err(|error| describe("write the playlist", rendition, &error))?;
        for name in self.expired {
            // Already gone is fine: cleanup may have raced us at the end of a stream.
            let _ = std::fs::remove_file(dir.join(name));
        }
        Ok(())
    }
}

fn milliseconds(ms: u64) -> TimeDelta {
    TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// One file of `chunks` back to back (a segment and its parts: no copy to join them).
fn write_chunks(path: &Path, chunks: &[Bytes]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    for chunk in chunks {
        file.write_all(chunk)?;
    }
    Ok(())
}

fn rendition_name(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn describe(what: &str, rendition: &str, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::StorageFull {
        format!("{NO_SPACE}: cannot {what} of the {rendition} rendition ({error})")
    } else {
        format!("cannot {what} of the {rendition} rendition: {error}")
    }
}
