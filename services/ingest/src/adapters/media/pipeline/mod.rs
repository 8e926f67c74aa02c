//! The task that runs one publish's media: it waits for the source's codec headers and first
//! keyframe, plans the ladder, remuxes the passthrough rendition itself ([`NativeRendition`]),
//! runs ffmpeg for the transcoded rungs, whose FLV it cuts itself too ([`super::relay`]), or for
//! every rung through ffmpeg's HLS muxer when the source cannot be remuxed natively or tests set
//! [`super::CopyMuxer::Ffmpeg`]; feeds it FLV and restarts it once if it dies or stops
//! producing segments (`ffmpeg.rs`), publishes the master playlist (`renditions.rs`), and on
//! finish closes the playlists before the folder is removed after a grace period. A
//! passthrough-only stream runs no ffmpeg.
//!
//! A room's publisher may change while the pipeline runs (a reconnect, or a stalled connection
//! taken over): the sink then hands over [`Input::NewPublisher`] before the new publisher's
//! headers and first keyframe. The pipeline stops ffmpeg, sets every rendition's playlist aside
//! open ([`CarriedRenditions`]), and starts over from the new source — ladder, ffmpeg, master
//! playlist — with each rung of the same name going on in the same playlist behind
//! `#EXT-X-DISCONTINUITY`, and the playlists of rungs the new ladder lacks ended.
//!
//! When it gives up (restart budget spent, or a failure no restart cures, such as a full HLS
//! disk) it closes the variant playlists itself, since a killed ffmpeg cannot: the ended stream
//! is then served as ended until cleanup, exactly like a clean finish.
//!
//! It is the only writer to ffmpeg's stdin. The RTMP side hands packets over through a bounded
//! channel and never waits for this task (see `transcoder.rs`), so a slow ffmpeg costs dropped
//! frames, never a stalled publisher.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use ferrocast_media::{
    hls::window::SharedTarget,
    ladder::{self, argv::AudioPlan},
    source::{Role, Source},
};
use tokio::{
    sync::{mpsc, oneshot, watch},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    config::MediaConfig,
    metrics as names,
    native::{CarriedRenditions, NativeRendition},
    outputs,
};
use crate::{
    adapters::hls::HlsRegistry,
    ports::{MediaPacket, Publisher, Rendition},
};

mod ffmpeg;
mod renditions;
mod running;

use ffmpeg::not_restarted;
use running::{exited, ffmpeg_rungs, finish_relays, relay_failed, unrecoverable_reported, Running};

/// A valid `CODECS` value (High, level 4.1) for the rare case the real one cannot be read.
const FALLBACK_VIDEO_CODECS: &str = "avc1.640029";
/// Enough of a segment to hold its first video PES header and SPS.
const SEGMENT_PREFIX_BYTES: u64 = 256 * 1024;
/// How often the ffmpeg rungs' playlists are read until the master playlist is out: half a
/// tick on average is added to the time from publish to a playable stream, and it lasts only the
/// first second or two of a stream (100 ms cost 50 ms of the ABR start's 1.5 s).
const MASTER_POLL: Duration = Duration::from_millis(20);
/// How often the stall watchdog looks, which needs no such hurry; once the master is out the
/// supervision ticks at this period.
const STALL_CHECK: Duration = Duration::from_millis(500);
/// How long (media time) the start waits for audio that `onMetaData` announced.
const AUDIO_GRACE_MS: u32 = 3000;

/// What the sink hands the pipeline, in order.
#[derive(Debug)]
pub enum Input {
    Packet(MediaPacket),
    /// A new publisher of the room: what follows is its stream, on a timeline of its own.
    NewPublisher,
}

/// State the sink reads while the pipeline runs.
#[derive(Debug, Default)]
pub struct Shared {
    pub renditions: Mutex<Vec<Rendition>>,
}

pub struct Pipeline {
    pub config: Arc<MediaConfig>,
    pub publisher: Publisher,
    pub dir: PathBuf,
    pub registry: HlsRegistry,
    pub shared: Arc<Shared>,
    pub packets: mpsc::Receiver<Input>,
    pub finish: oneshot::Receiver<()>,
    pub shutdown: CancellationToken,
    pub failed: watch::Sender<Option<String>>,
    pub tasks: TaskTracker,
    /// The target duration the stream's natively written rungs share.
    pub target: SharedTarget,
    /// Playlists set aside between two publishers.
    pub carried: CarriedRenditions,
    /// ffmpeg runs so far (restarts and publishers alike): each gets FIFOs of its own.
    pub runs: u32,
}

enum Ending {
    Finished,
    Failed(String),
    /// A new publisher took over; the outputs are set aside for it.
    Switched,
}

impl Pipeline {
    pub async fn run(mut self) {
        let _live = names::LiveGuard::enter();
        let ending = self.drive().await;
        let username = self.publisher.username.clone();
        let session_id = self.publisher.session_id.clone();
        // ffmpeg is gone on every ending (stopped, killed and reaped, or never started), so it
        // cannot rewrite a playlist after this and drop the tag again. A no-op after a clean
        // finish, where ffmpeg wrote the tag itself.
        self.close_playlists().await;
        self.registry.end(&username, &session_id);
        match ending {
            Ending::Finished | Ending::Switched => {
                tracing::info!(%username, %session_id, "media pipeline finished")
            }
            Ending::Failed(reason) => {
                tracing::error!(%username, %session_id, %reason, "media pipeline failed; the stream must end");
                metrics::counter!(names::PIPELINE_FAILURES).increment(1);
                self.failed.send_replace(Some(reason));
            }
        }
        self.schedule_cleanup();
    }

    /// Runs each publisher of the room in turn until the stream ends.
    async fn drive(&mut self) -> Ending {
        loop {
            match self.drive_publisher().await {
                Ending::Switched => {
                    metrics::counter!(names::PUBLISHER_SWITCHES).increment(1);
                    tracing::info!(
                        username = %self.publisher.username,
                        session_id = %self.publisher.session_id,
                        "a new publisher continues the stream"
                    );
                }
                ending => {
                    // Playlists set aside for a publisher that never sent a keyframe.
                    self.end_carried(&[]).await;
                    return ending;
                }
            }
        }
    }

    /// Ends the playlists of the last publisher's rungs that are not in `keep`: those set aside,
    /// and those ffmpeg wrote itself (which it left open, being killed).
    async fn end_carried(&self, keep: &[&str]) {
        for (name, carried) in self.carried.take_all_but(keep) {
            if let Err(reason) = NativeRendition::end_carried(self.dir.join(&name), carried).await {
                tracing::warn!(session_id = %self.publisher.session_id, rendition = %name, %reason, "cannot end a rendition the new ladder lacks");
            }
        }
        let previous = self.rendition_names();
        for name in previous
            .iter()
            .filter(|name| !keep.contains(&name.as_str()))
        {
            let target = self.config.hls_segment_seconds;
            if let Err(error) = outputs::close_playlist(&self.dir.join(name), target).await {
                tracing::warn!(session_id = %self.publisher.session_id, rendition = %name, %error, "cannot end a rendition the new ladder lacks");
            }
        }
    }

    async fn drive_publisher(&mut self) -> Ending {
        let mut source = Source::default();
        let first = match self.wait_for_keyframe(&mut source).await {
            Ok(Some(packet)) => packet,
            Ok(None) => return Ending::Finished,
            Err(reason) => return Ending::Failed(reason),
        };
        let Some((width, height)) = source.size() else {
            return Ending::Failed(
                "cannot tell the source resolution (no readable SPS, no onMetaData size)".into(),
            );
        };
        let variants = ladder::plan(width, height, &self.config.hls_ladder);
        let audio = source.audio_plan(self.config.hls_audio_kbps);
        self.end_carried(&variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>())
            .await;
        self.set_renditions(&variants, &source, audio);
        tracing::info!(
            username = %self.publisher.username,
            session_id = %self.publisher.session_id,
            source = %format!("{width}x{height}"),
            renditions = ?variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            ?audio,
            "starting the media pipeline"
        );
        let native = match self.native_copy(&variants, &source, audio).await {
            Ok(native) => native,
            Err(reason) => return Ending::Failed(reason),
        };
        let ffmpeg_variants = ffmpeg_rungs(&variants, native.is_some());
        let (relays, relay_failures) = self.relays(ffmpeg_variants, native.is_some(), audio);
        let ffmpeg = if ffmpeg_variants.is_empty() {
            None
        } else {
            match self.spawn(ffmpeg_variants, audio, &relays).await {
                Ok(ffmpeg) => Some(ffmpeg),
                Err(error) => {
                    finish_relays(relays, self.config.stop_timeout).await;
                    return Ending::Failed(format!("cannot start ffmpeg: {error}"));
                }
            }
        };
        let mut running = Running {
            ffmpeg,
            native,
            relays,
            relay_failures,
            variants,
            audio,
            awaiting_keyframe: true,
            restarts: 0,
            started: Instant::now(),
            master_written: false,
            last_output: Instant::now(),
            last_segment: None,
            last_fed: Instant::now(),
        };
        let ending = match self
            .deliver(&mut running, &source, &first, Role::KeyFrame)
            .await
        {
            Ok(()) => self.supervise(&mut running, source).await,
            Err(reason) => {
                running.kill_ffmpeg().await;
                Ending::Failed(reason)
            }
        };
        // A no-op after a clean stop, which finished them first; on a failure ffmpeg is dead.
        running.finish_relays(self.config.stop_timeout).await;
        ending
    }

    /// Remembers headers until the first keyframe after an AVC sequence header arrives.
    async fn wait_for_keyframe(
        &mut self,
        source: &mut Source,
    ) -> Result<Option<MediaPacket>, String> {
        let mut first_keyframe_ms = None;
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ok(None),
                _ = &mut self.finish => return Ok(None),
                input = self.packets.recv() => {
                    let packet = match input {
                        None => return Ok(None),
                        Some(Input::Packet(packet)) => packet,
                        Some(Input::NewPublisher) => {
                            // The last one never started: begin with the new one's headers.
                            *source = Source::default();
                            first_keyframe_ms = None;
                            continue;
                        }
                    };
                    match source.observe(&packet) {
                        Role::KeyFrame if source.has_video_header() => {
                            // Announced audio gets up to 3 s to show up before video starts.
                            let at = timestamp(&packet);
                            let first = *first_keyframe_ms.get_or_insert(at);
                            if !source.awaiting_announced_audio()
                                || at.saturating_sub(first) >= AUDIO_GRACE_MS
                            {
                                return Ok(Some(packet));
                            }
                        }
                        Role::UnsupportedVideo => {
                            return Err("the source video is not H.264, which the ladder needs".into())
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    async fn supervise(&mut self, running: &mut Running, mut source: Source) -> Ending {
        let mut poll = supervision_ticks(MASTER_POLL);
        let mut polling_for_master = true;
        let mut last_stall_check = tokio::time::Instant::now();
        // Made once, not once per packet: a cancellation waiter made and dropped per loop
        // registers and unregisters itself under the shared token's lock every time (the RTMP
        // loop pins its futures for the same reason).
        let shutdown = self.shutdown.clone();
        let stopping = shutdown.cancelled();
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                biased;
                () = &mut stopping => return self.stop(running, &source).await,
                _ = &mut self.finish => return self.drain_and_stop(running, &mut source).await,
                // A transcoded rung read back from ffmpeg cannot go on (a full disk, say).
                reason = relay_failed(&mut running.relay_failures) => {
                    running.kill_ffmpeg().await;
                    return Ending::Failed(reason);
                }
                // A full disk does not make ffmpeg exit; waiting for the stall watchdog and a
                // restart onto the same full disk would only keep a dead stream live longer.
                cause = unrecoverable_reported(running.ffmpeg.as_ref()) => {
                    let reason = running.kill_ffmpeg().await;
                    return Ending::Failed(not_restarted(&cause, &reason));
                }
                // The poll comes before the packets: when ffmpeg falls behind real time the
                // packet queue is never empty, and a biased select would starve the master
                // playlist and the stall watchdog until the publisher stopped.
                _ = poll.tick(), if running.needs_ticks() => {
                    if !running.master_written {
                        if let Err(reason) = self.publish_master(running, &source).await {
                            running.kill_ffmpeg().await;
                            return Ending::Failed(reason);
                        }
                    }
                    if polling_for_master && running.master_written {
                        polling_for_master = false;
                        poll = supervision_ticks(STALL_CHECK);
                    }
                    if last_stall_check.elapsed() < STALL_CHECK {
                        continue;
                    }
                    last_stall_check = tokio::time::Instant::now();
                    if let Some(reason) = self.stalled(running).await {
                        let reason = format!("{reason} ({})", running.kill_ffmpeg().await);
                        if let Err(reason) = self.restart(running, reason).await {
                            return Ending::Failed(reason);
                        }
                    }
                }
                status = exited(&mut running.ffmpeg) => {
                    let reason = running.describe_exit(status);
                    if let Err(reason) = self.restart(running, reason).await {
                        return Ending::Failed(reason);
                    }
                }
                input = self.packets.recv() => {
                    let packet = match input {
                        None => return self.stop(running, &source).await,
                        Some(Input::NewPublisher) => return self.set_aside(running).await,
                        Some(Input::Packet(packet)) => packet,
                    };
                    if let Err(reason) = self.handle(running, &mut source, packet).await {
                        // The native rung may fail with ffmpeg still running: stop it before
                        // the playlists are closed, or it could rewrite one after that.
                        running.kill_ffmpeg().await;
                        return Ending::Failed(reason);
                    }
                }
            }
        }
    }

    async fn handle(
        &mut self,
        running: &mut Running,
        source: &mut Source,
        packet: MediaPacket,
    ) -> Result<(), String> {
        let role = source.observe(&packet);
        let unmapped_audio =
            matches!(packet, MediaPacket::Audio { .. }) && running.audio == AudioPlan::None;
        if role == Role::UnsupportedVideo || unmapped_audio {
            return Ok(());
        }
        self.deliver(running, source, &packet, role).await
    }

    /// Hands `packet` to the native passthrough and to ffmpeg; the master playlist goes out as
    /// soon as the native rung's first segment completes the set.
    async fn deliver(
        &mut self,
        running: &mut Running,
        source: &Source,
        packet: &MediaPacket,
        role: Role,
    ) -> Result<(), String> {
        if let Some(native) = running.native.as_mut() {
            let published = native.push(packet).await?;
            if published && !running.master_written {
                self.publish_master(running, source).await?;
            }
        }
        self.feed_ffmpeg(running, source, packet, role).await
    }

    /// The names of the renditions the pipeline serves now.
    fn rendition_names(&self) -> Vec<String> {
        self.shared
            .renditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|rendition| rendition.name.clone())
            .collect()
    }

    /// Appends `#EXT-X-ENDLIST` to every rendition's playlist that lacks it. On a full disk this
    /// may fail too; the folder is then removed at cleanup as usual.
    async fn close_playlists(&self) {
        for name in self.rendition_names() {
            let target = self.config.hls_segment_seconds;
            match outputs::close_playlist(&self.dir.join(&name), target).await {
                Ok(true) => tracing::debug!(
                    session_id = %self.publisher.session_id,
                    rendition = %name,
                    "closed a playlist ffmpeg left open"
                ),
                Ok(false) => {}
                Err(error) => tracing::warn!(
                    username = %self.publisher.username,
                    session_id = %self.publisher.session_id,
                    rendition = %name,
                    %error,
                    "cannot close the playlist of an ended stream"
                ),
            }
        }
    }

    /// Writes what is already queued (bounded by the stop timeout), then stops ffmpeg.
    async fn drain_and_stop(&mut self, running: &mut Running, source: &mut Source) -> Ending {
        let deadline = Instant::now() + self.config.stop_timeout;
        while Instant::now() < deadline {
            let Ok(Input::Packet(packet)) = self.packets.try_recv() else {
                break;
            };
            if self.handle(running, source, packet).await.is_err() {
                break;
            }
        }
        self.stop(running, source).await
    }

    /// Ends the native rung's playlist and closes ffmpeg's input so it writes `#EXT-X-ENDLIST`
    /// (pitfall 6), killing it if it hangs; rungs ffmpeg hands back end once it is gone.
    async fn stop(&mut self, running: &mut Running, source: &Source) -> Ending {
        if let Some(native) = running.native.as_mut() {
            if let Err(reason) = native.finish().await {
                tracing::warn!(session_id = %self.publisher.session_id, %reason, "cannot finish the passthrough rendition");
            }
        }
        if let Some(ffmpeg) = running.ffmpeg.as_mut() {
            let status = ffmpeg.stop(self.config.stop_timeout).await;
            tracing::debug!(session_id = %self.publisher.session_id, ?status, "ffmpeg stopped");
        }
        running.finish_relays(self.config.stop_timeout).await;
        if !running.master_written {
            // A stream shorter than the first poll still deserves a playable master.
            let _ = self.publish_master(running, source).await;
        }
        Ending::Finished
    }

    /// Stops this publisher's outputs without ending the stream: ffmpeg stops, and the playlists
    /// are set aside open for the next publisher.
    async fn set_aside(&mut self, running: &mut Running) -> Ending {
        if running.relays.is_empty() {
            // ffmpeg writes the playlists itself: a clean stop would end them, so it is cut off
            // where it is and the next run appends behind a discontinuity.
            running.kill_ffmpeg().await;
        } else if let Some(ffmpeg) = running.ffmpeg.as_mut() {
            // Into the relays: a clean stop leaves them whole FLV tags to finish their segment.
            let status = ffmpeg.stop(self.config.stop_timeout).await;
            tracing::debug!(session_id = %self.publisher.session_id, ?status, "ffmpeg stopped for a new publisher");
        }
        running.ffmpeg = None;
        if let (Some(native), Some(variant)) = (running.native.take(), running.variants.first()) {
            match native.suspend().await {
                Ok(carried) => self.carried.put(variant.name.clone(), carried),
                Err(reason) => return Ending::Failed(reason),
            }
        }
        for relay in std::mem::take(&mut running.relays) {
            relay.suspend(self.config.stop_timeout).await;
        }
        Ending::Switched
    }

    /// Removes the session folder after the grace period (at once on shutdown), unless a newer
    /// session of the user is being served from elsewhere by then.
    fn schedule_cleanup(&self) {
        let (registry, dir, shutdown) = (
            self.registry.clone(),
            self.dir.clone(),
            self.shutdown.clone(),
        );
        let (username, session_id) = (
            self.publisher.username.clone(),
            self.publisher.session_id.clone(),
        );
        let grace = self.config.cleanup_grace;
        self.tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                () = shutdown.cancelled() => {}
            }
            registry.remove(&username, &session_id);
            if let Err(error) = outputs::remove_session(&dir).await {
                tracing::warn!(%username, %session_id, %error, dir = %dir.display(), "cannot remove the HLS folder of an ended session");
            }
        });
    }
}

/// The supervision's clock; a tick missed while busy is skipped, not made up in a burst.
fn supervision_ticks(period: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticks
}

fn timestamp(packet: &MediaPacket) -> u32 {
    match packet {
        MediaPacket::Metadata { .. } => 0,
        MediaPacket::Video { timestamp_ms, .. } | MediaPacket::Audio { timestamp_ms, .. } => {
            *timestamp_ms
        }
    }
}
