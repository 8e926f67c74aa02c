//! The pipeline's ffmpeg: starting it (through its HLS muxer, or into the relays' FIFOs), feeding
//! it FLV, watching that it keeps producing segments, and restarting it once when it dies or
//! stalls, unless the failure is one no restart cures.

use std::time::Duration;

use bytes::BytesMut;
use ferrocast_media::{
    codec::flv::{self, TagKind},
    hls::playlist,
    ladder::{
        argv::{AudioPlan, Command, Outputs},
        Variant,
    },
    source::{Role, Source},
    MediaPacket,
};
use tokio::{sync::mpsc, time::Instant};

use super::{running::Running, timestamp, Pipeline};
use crate::adapters::media::{
    metrics as names,
    outputs::{self, NO_SPACE},
    process::Ffmpeg,
    relay::Relay,
};

impl Pipeline {
    /// An ffmpeg that reads its input but writes no segments (hung or full disk, stuck
    /// encoder) would leave viewers on a frozen stream while the room stays live: after
    /// `stall_timeout` without a new segment it counts as crashed. Only a new segment counts:
    /// on a full disk ffmpeg keeps rewriting an empty playlist, which looks alive by mtime.
    pub(super) async fn stalled(&self, running: &mut Running) -> Option<String> {
        // The natively written rung cannot stall apart from its input: nothing to watch.
        let watched = running.ffmpeg_variants().first()?;
        let path = self.dir.join(&watched.name).join("index.m3u8");
        let newest = tokio::fs::read_to_string(&path)
            .await
            .ok()
            .and_then(|text| playlist::last_segment(&text).map(str::to_owned));
        if newest.is_some() && newest != running.last_segment {
            if running.last_segment.is_some() {
                metrics::histogram!(names::SEGMENT_INTERVAL)
                    .record(running.last_output.elapsed().as_secs_f64());
            }
            running.last_segment = newest;
            running.last_output = Instant::now();
            return None;
        }
        let quiet = running.last_output.elapsed();
        let fed_recently = running.last_fed.elapsed() < Duration::from_secs(2);
        (quiet > self.config.stall_timeout && fed_recently)
            .then(|| format!("ffmpeg wrote no segment for {}s", quiet.as_secs()))
    }

    /// Writes `packet` to ffmpeg (after the FLV header and codec headers when (re)starting);
    /// a failed write means ffmpeg is dead or stuck, handled like a crash.
    pub(super) async fn feed_ffmpeg(
        &mut self,
        running: &mut Running,
        source: &Source,
        packet: &MediaPacket,
        role: Role,
    ) -> Result<(), String> {
        let Some(ffmpeg) = running.ffmpeg.as_mut() else {
            return Ok(());
        };
        let mut bytes = BytesMut::new();
        let tagged = if running.awaiting_keyframe {
            if role != Role::KeyFrame {
                return Ok(());
            }
            running.awaiting_keyframe = false;
            let timestamp = timestamp(packet);
            bytes.extend_from_slice(&flv::file_header(running.audio != AudioPlan::None, true));
            source.headers().iter().try_for_each(|(kind, body)| {
                let at = if *kind == TagKind::Script {
                    0
                } else {
                    timestamp
                };
                flv::write_tag(&mut bytes, *kind, at, body)
            })
        } else {
            Ok(())
        };
        let (kind, at, body) = tag_of(packet);
        if tagged
            .and_then(|()| flv::write_tag(&mut bytes, kind, at, &body))
            .is_err()
        {
            // Not representable in FLV; RTMP's message size limits make this unreachable.
            return Ok(());
        }
        let Err(error) = ffmpeg.write(&bytes, self.config.stop_timeout).await else {
            running.last_fed = Instant::now();
            return Ok(());
        };
        let status = if error.kind() == std::io::ErrorKind::TimedOut {
            ffmpeg.kill().await
        } else {
            match tokio::time::timeout(Duration::from_secs(1), ffmpeg.child.wait()).await {
                Ok(status) => status.ok(),
                Err(_) => ffmpeg.kill().await,
            }
        };
        let reason = format!("{} (input write: {error})", ffmpeg.describe_exit(status));
        self.restart(running, reason).await
    }

    /// Replaces a dead ffmpeg while the restart budget lasts. The new one appends to the same
    /// playlists behind `#EXT-X-DISCONTINUITY` and is fed from the next keyframe. A failure a
    /// restart cannot cure (a full disk) ends the pipeline at once, whatever the budget.
    pub(super) async fn restart(
        &mut self,
        running: &mut Running,
        reason: String,
    ) -> Result<(), String> {
        if let Some(cause) = self.unrecoverable(running).await {
            return Err(not_restarted(&cause, &reason));
        }
        if running.restarts >= self.config.ffmpeg_max_restarts {
            return Err(format!(
                "{reason}; giving up after {} restart(s)",
                running.restarts
            ));
        }
        running.restarts += 1;
        metrics::counter!(names::FFMPEG_RESTARTS).increment(1);
        tracing::warn!(
            username = %self.publisher.username,
            session_id = %self.publisher.session_id,
            %reason,
            restart = running.restarts,
            "ffmpeg failed mid-stream; restarting it"
        );
        let ffmpeg = self
            .spawn(running.ffmpeg_variants(), running.audio, &running.relays)
            .await
            .map_err(|error| format!("{reason}; restarting ffmpeg failed: {error}"))?;
        running.ffmpeg = Some(ffmpeg);
        running.awaiting_keyframe = true;
        running.last_output = Instant::now();
        Ok(())
    }

    /// Why the dead ffmpeg is not worth restarting, if so: what it reported on stderr, or else a
    /// session folder that cannot take a small write for lack of space (ffmpeg 5 stays silent
    /// about ENOSPC on segments; it only stops producing them).
    pub(super) async fn unrecoverable(&self, running: &Running) -> Option<String> {
        if let Some(cause) = running.ffmpeg.as_ref().and_then(Ffmpeg::unrecoverable) {
            return Some(cause);
        }
        match outputs::probe_space(&self.dir).await {
            Err(error) if error.kind() == std::io::ErrorKind::StorageFull => {
                Some(format!("{NO_SPACE} ({error})"))
            }
            _ => None,
        }
    }

    /// Starts the stream's next ffmpeg run for `variants`: into the `relays`' FIFOs when there
    /// are relays, else through its HLS muxer (appending after the first run).
    pub(super) async fn spawn(
        &mut self,
        variants: &[Variant],
        audio: AudioPlan,
        relays: &[Relay],
    ) -> std::io::Result<Ffmpeg> {
        let generation = self.runs;
        self.runs += 1;
        let session_id = &self.publisher.session_id;
        let prefix = self.segment_prefix();
        let mut fifos = Vec::with_capacity(relays.len());
        let mut held = Vec::with_capacity(relays.len());
        for relay in relays {
            let (path, pipe) = relay.open_pipe(&self.dir, generation).await?;
            fifos.push(path);
            held.push(pipe);
        }
        let outputs = if relays.is_empty() {
            Outputs::Hls {
                restart: generation > 0,
            }
        } else {
            Outputs::Flv(&fifos)
        };
        let args = Command {
            variants,
            audio,
            out_dir: &self.dir,
            segment_prefix: &prefix,
            segment_seconds: self.config.hls_segment_seconds,
            playlist_window: self.config.hls_playlist_window,
            preset: &self.config.hls_x264_preset,
            tune: &self.config.hls_x264_tune,
            outputs,
        }
        .argv();
        let mut ffmpeg = Ffmpeg::spawn(&self.config.ffmpeg_path, &args, session_id)?;
        ffmpeg.hold(held);
        Ok(ffmpeg)
    }

    /// One relay per transcoded rung when the passthrough is written natively (so the whole
    /// ladder is), with the channel on which they report a failure.
    pub(super) fn relays(
        &self,
        ffmpeg_variants: &[Variant],
        native_copy: bool,
        audio: AudioPlan,
    ) -> (Vec<Relay>, Option<mpsc::Receiver<String>>) {
        if !native_copy || ffmpeg_variants.is_empty() {
            return (Vec::new(), None);
        }
        let (failures, failed) = mpsc::channel(ffmpeg_variants.len());
        let relays = ffmpeg_variants
            .iter()
            .map(|variant| Relay::spawn(self.rung_plan(variant, audio), failures.clone()))
            .collect();
        (relays, Some(failed))
    }
}

/// The failure reason when ffmpeg is not restarted: the cause first, so logs lead with it.
pub(super) fn not_restarted(cause: &str, reason: &str) -> String {
    format!("{cause}; ffmpeg not restarted ({reason})")
}

fn tag_of(packet: &MediaPacket) -> (TagKind, u32, bytes::Bytes) {
    match packet {
        MediaPacket::Metadata { data } => (TagKind::Script, 0, flv::normalize_metadata(data)),
        MediaPacket::Video { timestamp_ms, data } => (TagKind::Video, *timestamp_ms, data.clone()),
        MediaPacket::Audio { timestamp_ms, data } => (TagKind::Audio, *timestamp_ms, data.clone()),
    }
}
