//! The passthrough rendition written by the ingest itself: the [`Segmenter`]'s segments go to
//! `{session}/{rendition}/` under the same names and playlist layout as ffmpeg's rungs, so the
//! origin, the master playlist and cleanup treat every rung alike.
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

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{
    process::NO_SPACE,
    segmenter::{Segment, Segmenter},
    window::Window,
};
use crate::{hls::PublishedPlaylist, ports::MediaPacket};

const PLAYLIST: &str = "index.m3u8";

pub struct NativeRendition {
    dir: PathBuf,
    prefix: String,
    segmenter: Segmenter,
    window: Window,
    published: PublishedPlaylist,
}

impl NativeRendition {
    /// Creates `dir` (the rendition folder); segments are named `{prefix}_{sequence:05}.ts`.
    pub async fn create(
        dir: PathBuf,
        prefix: String,
        segmenter: Segmenter,
        window: Window,
        published: PublishedPlaylist,
    ) -> Result<Self, String> {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|error| describe("create the rendition folder", &error))?;
        Ok(Self {
            dir,
            prefix,
            segmenter,
            window,
            published,
        })
    }

    /// Takes one packet; returns whether it completed (and published) a segment.
    pub async fn push(&mut self, packet: &MediaPacket) -> Result<bool, String> {
        let segment = self
            .segmenter
            .push(packet)
            .map_err(|error| format!("native remux failed: {error}"))?;
        match segment {
            Some(segment) => self.publish(segment, false).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Publishes the segment in progress and closes the playlist with `#EXT-X-ENDLIST`.
    pub async fn finish(&mut self) -> Result<(), String> {
        match self.segmenter.finish() {
            Some(segment) => self.publish(segment, true).await,
            None if self.window.is_empty() => Ok(()),
            None => self.write_playlist(true).await,
        }
    }

    async fn publish(&mut self, segment: Segment, ended: bool) -> Result<(), String> {
        let name = format!("{}_{:05}.ts", self.prefix, self.window.next_sequence());
        let mut window = self.window.clone();
        let expired = window.push(name.clone(), segment.duration_ms, segment.discontinuity);
        self.store(window, Some((name, segment.bytes)), expired, ended)
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
        segment: Option<(String, Vec<u8>)>,
        expired: Vec<String>,
        ended: bool,
    ) -> Result<(), String> {
        let playlist = Bytes::from(window.render(ended));
        let work = DiskWork {
            segment,
            playlist: playlist.clone(),
            expired,
        };
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || work.run(&dir))
            .await
            .map_err(|error| format!("the passthrough rendition's disk task failed: {error}"))??;
        self.window = window;
        if let Some(last) = self.window.last_sequence() {
            let on_disk: Vec<&str> = self.window.on_disk().collect();
            self.published.put(playlist, last, &on_disk);
        }
        Ok(())
    }
}

/// What one playlist version needs on disk, in this order.
struct DiskWork {
    segment: Option<(String, Vec<u8>)>,
    playlist: Bytes,
    expired: Vec<String>,
}

impl DiskWork {
    fn run(self, dir: &Path) -> Result<(), String> {
        if let Some((name, bytes)) = &self.segment {
            let path = dir.join(name);
            if let Err(error) = std::fs::write(&path, bytes) {
                // A partial segment holds space a full disk needs back.
                let _ = std::fs::remove_file(&path);
                return Err(describe("write a segment", &error));
            }
        }
        std::fs::write(dir.join(PLAYLIST), &self.playlist)
            .map_err(|error| describe("write the playlist", &error))?;
        for name in self.expired {
            // Already gone is fine: cleanup may have raced us at the end of a stream.
            let _ = std::fs::remove_file(dir.join(name));
        }
        Ok(())
    }
}

fn describe(what: &str, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::StorageFull {
        format!("{NO_SPACE}: cannot {what} of the passthrough rendition ({error})")
    } else {
        format!("cannot {what} of the passthrough rendition: {error}")
    }
}
