//! What a pipeline publishes about its renditions: the master playlist with the CODECS each rung
//! really uses, the renditions the rooms service lists, and the natively remuxed passthrough.

use std::sync::PoisonError;

use super::{running::Running, Pipeline, FALLBACK_VIDEO_CODECS, SEGMENT_PREFIX_BYTES};
use ferrocast_media::{
    codec::avc,
    hls::master,
    ladder::{self, argv::AudioPlan, Encoding, Variant},
    source::Source,
    ts,
};

use crate::{
    adapters::media::{
        config::CopyMuxer, metrics as names, native::NativeRendition, outputs, rung::RungPlan,
    },
    ports::Rendition,
};

impl Pipeline {
    /// Writes `master.m3u8` once every rendition has a segment, with the CODECS each one
    /// really uses: the source's for the copy, the SPS x264 wrote for the others.
    pub(super) async fn publish_master(
        &self,
        running: &mut Running,
        source: &Source,
    ) -> Result<(), String> {
        let audio_object_type = match running.audio {
            AudioPlan::None => None,
            AudioPlan::Copy => Some(source.aac_object_type.unwrap_or(2)),
            AudioPlan::Aac { .. } => Some(2),
        };
        let mut entries = Vec::with_capacity(running.variants.len());
        for variant in &running.variants {
            let Some(segment) = outputs::first_segment(&self.dir, &variant.name).await else {
                return Ok(());
            };
            let video = match variant.encoding {
                Encoding::Copy => source.avc.map(|info| info.codecs()),
                Encoding::X264 { .. } => {
                    let Ok(bytes) = outputs::read_prefix(&segment, SEGMENT_PREFIX_BYTES).await
                    else {
                        // Rotated away between the two reads: try again at the next poll.
                        return Ok(());
                    };
                    ts::reader::first_sps(&bytes).map(|(p, c, l)| avc::avc_codecs(p, c, l))
                }
            };
            entries.push(master::Entry {
                uri: format!("{}/index.m3u8", variant.name),
                bandwidth: self.bandwidth(variant, source, running.audio),
                width: variant.width,
                height: variant.height,
                codecs: master::codecs(
                    video.as_deref().unwrap_or(FALLBACK_VIDEO_CODECS),
                    audio_object_type,
                ),
            });
        }
        outputs::write_atomic(&self.dir, "master.m3u8", &master::render(&entries))
            .await
            .map_err(|error| {
                format!(
                    "cannot write the master playlist in {}: {error}",
                    self.dir.display()
                )
            })?;
        running.master_written = true;
        let elapsed = running.started.elapsed();
        metrics::histogram!(names::FIRST_SEGMENT).record(elapsed.as_secs_f64());
        self.set_renditions(&running.variants, source, running.audio);
        tracing::info!(
            username = %self.publisher.username,
            session_id = %self.publisher.session_id,
            ?elapsed,
            "HLS master playlist published"
        );
        Ok(())
    }

    /// Peak bits per second of a variant, audio included.
    pub(super) fn bandwidth(&self, variant: &Variant, source: &Source, audio: AudioPlan) -> u64 {
        let audio_kbps = match audio {
            AudioPlan::None => 0,
            AudioPlan::Copy => source
                .announced
                .audio_kbps
                .unwrap_or(self.config.hls_audio_kbps),
            AudioPlan::Aac { kbps } => kbps,
        };
        let source_kbps = source.measured_video_kbps().or(source.announced.video_kbps);
        ladder::bandwidth(variant, source_kbps, audio_kbps, &self.config.hls_ladder)
    }

    pub(super) fn set_renditions(&self, variants: &[Variant], source: &Source, audio: AudioPlan) {
        let renditions = variants
            .iter()
            .map(|variant| Rendition {
                name: variant.name.clone(),
                width: variant.width,
                height: variant.height,
                bandwidth: self.bandwidth(variant, source, audio),
            })
            .collect();
        *self
            .shared
            .renditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = renditions;
    }

    /// The native passthrough rendition, when the ladder starts with one and the source can be
    /// remuxed without ffmpeg (H.264 with AAC or no audio). `Ok(None)` leaves it to ffmpeg.
    pub(super) async fn native_copy(
        &self,
        variants: &[Variant],
        source: &Source,
        audio: AudioPlan,
    ) -> Result<Option<NativeRendition>, String> {
        let copy = match variants.first() {
            Some(variant) if variant.encoding == Encoding::Copy => variant,
            _ => return Ok(None),
        };
        if self.config.hls_copy_muxer != CopyMuxer::Native || matches!(audio, AudioPlan::Aac { .. })
        {
            return Ok(None);
        }
        let plan = self.rung_plan(copy, audio);
        match plan.segmenter(&source.headers()) {
            Ok(segmenter) => plan.start(segmenter).await.map(Some),
            Err(error) => {
                tracing::info!(
                    session_id = %self.publisher.session_id,
                    %error,
                    "the passthrough rendition goes through ffmpeg"
                );
                Ok(None)
            }
        }
    }

    /// How `variant` is written natively. Every natively written rung (the passthrough, and the
    /// transcoded ones read back through a [`Relay`](crate::adapters::media::relay::Relay)) is cut into
    /// low-latency parts when they are on: a ladder is either all native or all ffmpeg's.
    pub(super) fn rung_plan(&self, variant: &Variant, audio: AudioPlan) -> RungPlan {
        let target_ms = self.config.hls_segment_seconds.saturating_mul(1000);
        RungPlan {
            dir: self.dir.join(&variant.name),
            name: variant.name.clone(),
            prefix: self.segment_prefix(),
            segment_seconds: self.config.hls_segment_seconds,
            window: self.config.hls_playlist_window,
            part_ms: Some(self.config.hls_part_millis)
                .filter(|&part_ms| part_ms > 0 && part_ms < target_ms),
            audio: audio == AudioPlan::Copy,
            registry: self.registry.clone(),
            username: self.publisher.username.clone(),
            session_id: self.publisher.session_id.clone(),
            target: self.target.clone(),
            carried: self.carried.clone(),
        }
    }

    /// Makes segment names unique per session, so `immutable` caching is safe across sessions.
    pub(super) fn segment_prefix(&self) -> String {
        self.publisher.session_id.chars().take(8).collect()
    }
}
