//! What a pipeline holds while its outputs run: ffmpeg (for the transcoded rungs, or all of them),
//! the natively written passthrough, and the bookkeeping the restart and the watchdog need.

use std::{process::ExitStatus, time::Duration};

use ferrocast_media::ladder::{argv::AudioPlan, Variant};
use tokio::{sync::mpsc, time::Instant};

use super::super::{native::NativeRendition, process::Ffmpeg, relay::Relay};

/// The running outputs and what a restart needs.
pub(super) struct Running {
    /// `None` when no rung needs ffmpeg (a passthrough-only ladder remuxed natively).
    pub(super) ffmpeg: Option<Ffmpeg>,
    pub(super) native: Option<NativeRendition>,
    /// The transcoded rungs ffmpeg hands back as FLV, when the passthrough is written natively.
    pub(super) relays: Vec<Relay>,
    /// Where the relays report a failure; `None` without relays.
    pub(super) relay_failures: Option<mpsc::Receiver<String>>,
    pub(super) variants: Vec<Variant>,
    pub(super) audio: AudioPlan,
    /// Nothing is written until the next keyframe (at start and after a restart, pitfall 2).
    pub(super) awaiting_keyframe: bool,
    pub(super) restarts: u32,
    pub(super) started: Instant,
    pub(super) master_written: bool,
    /// Last time the first ffmpeg rung's playlist listed a new segment (or ffmpeg (re)started).
    pub(super) last_output: Instant,
    /// The newest segment that playlist listed: progress is a new name, not a rewritten file.
    pub(super) last_segment: Option<String>,
    /// Last successful write to ffmpeg: a quiet publisher is not a stalled ffmpeg.
    pub(super) last_fed: Instant,
}

impl Running {
    /// The rungs ffmpeg writes: all of them, or the transcoded ones when `native` writes the
    /// passthrough (always the first rung).
    pub(super) fn ffmpeg_variants(&self) -> &[Variant] {
        ffmpeg_rungs(&self.variants, self.native.is_some())
    }

    /// Whether the supervision tick has work: the master playlist still waits for ffmpeg's rungs,
    /// or ffmpeg runs and needs its stall watchdog. A passthrough-only stream (remuxed natively,
    /// no ffmpeg) has none once the master is out, so it is not woken ten times a second for
    /// nothing — at hundreds of streams those wake-ups were a visible part of the ingest's CPU.
    pub(super) fn needs_ticks(&self) -> bool {
        !self.master_written || self.ffmpeg.is_some()
    }

    /// Lets the relays read the rest of what ffmpeg wrote and close their rungs. Call once ffmpeg
    /// is stopped or dead: it is dropped here, and with it the write ends it held, so the
    /// relays reach the end of its stream.
    pub(super) async fn finish_relays(&mut self, timeout: Duration) {
        self.ffmpeg = None;
        finish_relays(std::mem::take(&mut self.relays), timeout).await;
    }

    /// Kills ffmpeg, if any, and says how it ended.
    pub(super) async fn kill_ffmpeg(&mut self) -> String {
        let status = match self.ffmpeg.as_mut() {
            Some(ffmpeg) => ffmpeg.kill().await,
            None => None,
        };
        self.describe_exit(status)
    }

    pub(super) fn describe_exit(&self, status: Option<ExitStatus>) -> String {
        self.ffmpeg.as_ref().map_or_else(
            || "no ffmpeg running".to_owned(),
            |ffmpeg| ffmpeg.describe_exit(status),
        )
    }
}

/// The rungs left to ffmpeg when the first one is (or is not) written natively.
pub(super) fn ffmpeg_rungs(variants: &[Variant], native_copy: bool) -> &[Variant] {
    if native_copy {
        variants.get(1..).unwrap_or_default()
    } else {
        variants
    }
}

/// Resolves when ffmpeg exits; never without one.
pub(super) async fn exited(ffmpeg: &mut Option<Ffmpeg>) -> Option<ExitStatus> {
    match ffmpeg {
        Some(ffmpeg) => ffmpeg.child.wait().await.ok(),
        None => std::future::pending().await,
    }
}

/// Resolves when ffmpeg reports an unrecoverable failure; never without one.
pub(super) fn unrecoverable_reported(
    ffmpeg: Option<&Ffmpeg>,
) -> impl std::future::Future<Output = String> + 'static {
    let reported = ffmpeg.map(Ffmpeg::unrecoverable_reported);
    async move {
        match reported {
            Some(reported) => reported.await,
            None => std::future::pending().await,
        }
    }
}

/// Finishes `relays` one after the other, each within `timeout`.
pub(super) async fn finish_relays(relays: Vec<Relay>, timeout: Duration) {
    for relay in relays {
        relay.finish(timeout).await;
    }
}

/// Resolves with the first failure a relay reports; never without relays.
pub(super) async fn relay_failed(failures: &mut Option<mpsc::Receiver<String>>) -> String {
    match failures {
        Some(failures) => match failures.recv().await {
            Some(reason) => reason,
            // Every relay is gone without a failure: nothing more will come.
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}
