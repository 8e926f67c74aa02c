//! [`RungPlan`]: what it takes to write one rendition natively once its codec headers are known.
//! The passthrough knows them at the start (the source's); a transcoded rung learns them from
//! the first tags ffmpeg writes back ([`super::relay`]). Both go through this one constructor, so
//! every natively written rung has the same segment length, window and parts, and a rung that
//! a previous publisher of the room left open goes on in the same playlist.

use std::{path::PathBuf, time::Duration};

use bytes::Bytes;
use ferrocast_media::{
    codec::flv::TagKind,
    hls::{
        segmenter::{Segmenter, SegmenterError},
        window::{SharedTarget, Window},
    },
};

use super::native::{CarriedRenditions, NativeRendition};
use crate::adapters::hls::{HlsRegistry, PublishedPlaylist};

/// One rendition's folder, names and playlist shape.
#[derive(Debug, Clone)]
pub struct RungPlan {
    /// `{session}/{rendition}`.
    pub dir: PathBuf,
    pub name: String,
    /// Segment names start with it (unique per session).
    pub prefix: String,
    pub segment_seconds: u32,
    pub window: u32,
    /// Low-latency part length, or `None` for plain HLS.
    pub part_ms: Option<u32>,
    /// Whether the rendition carries the AAC audio.
    pub audio: bool,
    pub registry: HlsRegistry,
    pub username: String,
    pub session_id: String,
    /// The target duration every rung of the stream advertises.
    pub target: SharedTarget,
    /// Playlists the room's previous publisher left open, which a rung of the same name
    /// continues.
    pub carried: CarriedRenditions,
}

impl RungPlan {
    /// The segmenter for `headers`; fails when they hold no usable H.264 (or, with audio, AAC)
    /// configuration.
    pub fn segmenter(&self, headers: &[(TagKind, Bytes)]) -> Result<Segmenter, SegmenterError> {
        let target_ms = self.segment_seconds.saturating_mul(1000);
        let segmenter = Segmenter::from_headers(headers, self.audio, target_ms)?;
        Ok(match self.part_ms {
            Some(part_ms) => segmenter.with_parts(part_ms),
            None => segmenter,
        })
    }

    /// Creates the rendition folder and starts publishing to the origin with `segmenter`.
    pub async fn start(self, segmenter: Segmenter) -> Result<NativeRendition, String> {
        if let Some(carried) = self.carried.take(&self.name) {
            return NativeRendition::resume(self.dir, self.prefix, segmenter, carried).await;
        }
        let mut window =
            Window::new(self.window, self.segment_seconds).sharing_target(self.target.clone());
        if let Some(part_ms) = self.part_ms {
            window = window.with_parts(part_ms);
        }
        let published = PublishedPlaylist::new(
            self.registry,
            &self.username,
            &self.session_id,
            &self.name,
            Duration::from_secs(u64::from(self.segment_seconds)),
        );
        NativeRendition::create(
            self.dir,
            self.prefix,
            segmenter,
            window,
            published,
            self.part_ms.is_some(),
        )
        .await
    }
}
