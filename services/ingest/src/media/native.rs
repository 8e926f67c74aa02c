//! The passthrough rendition written by the ingest itself: the [`Segmenter`]'s segments go to
//! `{session}/{rendition}/` under the same names and playlist layout as ffmpeg's rungs, so the
//! origin, the master playlist and cleanup treat every rung alike.
//!
//! A segment file is complete before the playlist names it (the playlist is replaced
//! atomically), so no reader ever sees half a segment. A write that fails ends the rendition;
//! a full disk is named as such so the pipeline does not mistake it for a broken source.
//!
//! Each playlist version also goes to the origin ([`PublishedPlaylist`]) the moment it replaces
//! the file, and is withdrawn when the rendition is dropped; from then on the file on disk (with
//! `#EXT-X-ENDLIST`) is served like any other.

use std::path::PathBuf;

use bytes::Bytes;

use super::{
    outputs,
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
        let path = self.dir.join(&name);
        if let Err(error) = tokio::fs::write(&path, &segment.bytes).await {
            // A partial segment holds space a full disk needs back.
            let _ = tokio::fs::remove_file(&path).await;
            return Err(describe("write a segment", &error));
        }
        let expired = self
            .window
            .push(name, segment.duration_ms, segment.discontinuity);
        self.write_playlist(ended).await?;
        for name in expired {
            // Already gone is fine: cleanup may have raced us at the end of a stream.
            let _ = tokio::fs::remove_file(self.dir.join(name)).await;
        }
        Ok(())
    }

    async fn write_playlist(&self, ended: bool) -> Result<(), String> {
        let playlist = Bytes::from(self.window.render(ended));
        outputs::write_atomic(&self.dir, PLAYLIST, &playlist)
            .await
            .map_err(|error| describe("write the playlist", &error))?;
        if let Some(last) = self.window.last_sequence() {
            self.published.put(playlist, last);
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
