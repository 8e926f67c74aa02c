//! [`FfmpegTranscoder`]: the real [`Transcoder`] port. `start` prepares the session folder,
//! registers it with the HLS origin and spawns the pipeline task; the returned sink is the
//! RTMP side's only handle on it.
//!
//! `push` never waits: packets go through a bounded channel. When it is full (the pipeline or
//! its ffmpeg behind), the sink drops media until the next keyframe — keeping codec headers
//! aside — so the decoder resumes on a clean picture instead of smearing, and the RTMP reader
//! is never stalled.

use std::{
    sync::{Arc, PoisonError},
    time::Duration,
};

use ferrocast_media::{
    codec::flv::{self, VideoBody},
    hls::window::SharedTarget,
};
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    config::MediaConfig,
    metrics as names,
    native::CarriedRenditions,
    outputs,
    pipeline::{Input, Pipeline, Shared},
};
use crate::{
    adapters::hls::{self, HlsRegistry},
    ports::{BoxFuture, MediaError, MediaPacket, MediaSink, Publisher, Rendition, Transcoder},
};

pub struct FfmpegTranscoder {
    config: Arc<MediaConfig>,
    registry: HlsRegistry,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl FfmpegTranscoder {
    /// Pipelines stop (closing their playlists) and folders are removed when `shutdown` fires.
    pub fn new(config: MediaConfig, registry: HlsRegistry, shutdown: CancellationToken) -> Self {
        Self {
            config: Arc::new(config),
            registry,
            shutdown,
            tasks: TaskTracker::new(),
        }
    }

    /// Fails fast at service start when ffmpeg cannot run or the HLS root is not writable.
    pub async fn check(&self) -> Result<(), MediaError> {
        let output = tokio::time::timeout(
            Duration::from_secs(10),
            super::process::command(&self.config.ffmpeg_path)
                .arg("-version")
                .kill_on_drop(true)
                .output(),
        )
        .await
        .map_err(|_| MediaError::Start("ffmpeg -version timed out".into()))?
        .map_err(|error| {
            MediaError::Start(format!(
                "cannot run ffmpeg at {}: {error}",
                self.config.ffmpeg_path.display()
            ))
        })?;
        if !output.status.success() {
            return Err(MediaError::Start(format!(
                "ffmpeg -version exited with {}",
                output.status
            )));
        }
        tokio::fs::create_dir_all(&self.config.hls_root)
            .await
            .map_err(|error| {
                MediaError::Start(format!(
                    "cannot create the HLS root {}: {error}",
                    self.config.hls_root.display()
                ))
            })
    }

    /// Resolves when every pipeline and cleanup task has ended (after `shutdown` fired).
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl Transcoder for FfmpegTranscoder {
    fn start(
        &self,
        publisher: &Publisher,
    ) -> BoxFuture<'_, Result<Box<dyn MediaSink>, MediaError>> {
        let publisher = publisher.clone();
        Box::pin(async move {
            // Both end up in paths: refuse anything the origin's allowlist would not serve.
            let session_ok = (1..=64).contains(&publisher.session_id.len())
                && publisher
                    .session_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !hls::is_username(&publisher.username) || !session_ok {
                return Err(MediaError::Start(
                    "username or session id not usable in a path".into(),
                ));
            }
            if self.shutdown.is_cancelled() {
                return Err(MediaError::Start("the ingest is shutting down".into()));
            }
            let dir = outputs::create_session_dir(
                &self.config.hls_root,
                &publisher.username,
                &publisher.session_id,
            )
            .await
            .map_err(|error| {
                MediaError::Start(format!("cannot create the session's HLS folder: {error}"))
            })?;
            self.registry
                .publish(&publisher.username, &publisher.session_id, dir.clone());

            let (packets_tx, packets) = mpsc::channel(self.config.media_queue_packets);
            let (finish_tx, finish) = oneshot::channel();
            let (failed_tx, failed) = watch::channel(None);
            let shared = Arc::new(Shared::default());
            let username = publisher.username.clone();
            let pipeline = Pipeline {
                config: self.config.clone(),
                publisher,
                dir,
                registry: self.registry.clone(),
                shared: shared.clone(),
                packets,
                finish,
                shutdown: self.shutdown.clone(),
                failed: failed_tx,
                tasks: self.tasks.clone(),
                target: SharedTarget::default(),
                carried: CarriedRenditions::default(),
                runs: 0,
            };
            let task = self.tasks.spawn(pipeline.run());
            Ok(Box::new(FfmpegSink {
                packets: packets_tx,
                finish: finish_tx,
                failed,
                shared,
                task,
                dropping: false,
                held: Held::default(),
                new_publisher: false,
                username,
                overflows: OverflowLog::default(),
            }) as Box<dyn MediaSink>)
        })
    }
}

struct FfmpegSink {
    packets: mpsc::Sender<Input>,
    finish: oneshot::Sender<()>,
    failed: watch::Receiver<Option<String>>,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    /// Set when the queue overflowed: media is dropped until the next video keyframe.
    dropping: bool,
    held: Held,
    /// A new publisher took over: the pipeline is told so just before its first keyframe.
    new_publisher: bool,
    /// For the log: whose stream falls behind.
    username: String,
    overflows: OverflowLog,
}

/// How often one stream says it falls behind. On an overloaded host every stream overflows
/// again and again (≈ 14 000 warnings a minute at 1 000 streams on the bench machine), and a
/// log storm adds load where there is none to spare; the drops themselves are counted in
/// `ingest_media_packets_dropped_total` either way.
const OVERFLOW_WARNING_PERIOD: Duration = Duration::from_secs(30);

/// When the stream last warned, and the overflows since.
#[derive(Debug, Default)]
struct OverflowLog {
    last_warning: Option<Instant>,
    unreported: u64,
}

impl OverflowLog {
    /// Records an overflow at `now`; returns how many (this one included) to report in a
    /// warning, or `None` while the last warning is recent.
    fn overflowed(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        let due = self
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= OVERFLOW_WARNING_PERIOD);
        if !due {
            return None;
        }
        self.last_warning = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

/// Codec headers that arrived while dropping; they go out before the resuming keyframe.
#[derive(Default)]
struct Held {
    metadata: Option<MediaPacket>,
    video: Option<MediaPacket>,
    audio: Option<MediaPacket>,
}

impl Held {
    fn keep(&mut self, packet: MediaPacket) {
        match &packet {
            MediaPacket::Metadata { .. } => self.metadata = Some(packet),
            MediaPacket::Video { .. } => self.video = Some(packet),
            MediaPacket::Audio { .. } => self.audio = Some(packet),
        }
    }

    fn take(&mut self) -> Vec<MediaPacket> {
        [self.metadata.take(), self.video.take(), self.audio.take()]
            .into_iter()
            .flatten()
            .collect()
    }
}

enum Kind {
    Header,
    KeyFrame,
    Other,
}

fn kind(packet: &MediaPacket) -> Kind {
    match packet {
        MediaPacket::Metadata { .. } => Kind::Header,
        MediaPacket::Video { data, .. } => match flv::classify_video(data) {
            VideoBody::AvcSequenceHeader => Kind::Header,
            VideoBody::AvcKeyFrame => Kind::KeyFrame,
            _ => Kind::Other,
        },
        MediaPacket::Audio { data, .. } => match flv::classify_audio(data) {
            flv::AudioBody::AacSequenceHeader { .. } => Kind::Header,
            _ => Kind::Other,
        },
    }
}

impl FfmpegSink {
    fn ended(&self) -> MediaError {
        MediaError::Ended(
            self.failed
                .borrow()
                .clone()
                .unwrap_or_else(|| "the media pipeline stopped".into()),
        )
    }

    fn dropped(count: u64) {
        metrics::counter!(names::PACKETS_DROPPED).increment(count);
    }
}

impl MediaSink for FfmpegSink {
    fn push(&mut self, packet: MediaPacket) -> Result<(), MediaError> {
        if self.failed.borrow().is_some() || self.packets.is_closed() {
            return Err(self.ended());
        }
        let kind = kind(&packet);
        if self.dropping {
            match kind {
                Kind::Header => {
                    self.held.keep(packet);
                    return Ok(());
                }
                Kind::Other => {
                    Self::dropped(1);
                    return Ok(());
                }
                Kind::KeyFrame => {
                    let held = self.held.take();
                    let switch = self.new_publisher.then_some(Input::NewPublisher);
                    let needed = held.len() + 1 + usize::from(switch.is_some());
                    let Ok(permits) = self.packets.try_reserve_many(needed) else {
                        // Still full: keep waiting for a later keyframe.
                        held.into_iter().for_each(|p| self.held.keep(p));
                        Self::dropped(1);
                        return Ok(());
                    };
                    let inputs = switch
                        .into_iter()
                        .chain(held.into_iter().chain([packet]).map(Input::Packet));
                    for (permit, input) in permits.zip(inputs) {
                        permit.send(input);
                    }
                    self.dropping = false;
                    self.new_publisher = false;
                    return Ok(());
                }
            }
        }
        match self.packets.try_send(Input::Packet(packet)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(Input::Packet(packet))) => {
                if let Some(overflows) = self.overflows.overflowed(Instant::now()) {
                    tracing::warn!(
                        username = %self.username,
                        overflows,
                        "the media pipeline is falling behind; dropping media until the next keyframe"
                    );
                }
                self.dropping = true;
                match kind {
                    Kind::Header => self.held.keep(packet),
                    _ => Self::dropped(1),
                }
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(Input::NewPublisher)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.ended()),
        }
    }

    fn new_publisher(&mut self) {
        // Like an overflow: nothing of the new stream goes out before its first keyframe, which
        // is preceded by the switch and by its codec headers, held meanwhile. What the last
        // publisher left held is no use to the new one.
        self.held = Held::default();
        self.dropping = true;
        self.new_publisher = true;
    }

    fn renditions(&self) -> Vec<Rendition> {
        self.shared
            .renditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn failed(&self) -> BoxFuture<'static, MediaError> {
        let mut failed = self.failed.clone();
        Box::pin(async move {
            loop {
                if let Some(reason) = failed.borrow_and_update().clone() {
                    return MediaError::Ended(reason);
                }
                if failed.changed().await.is_err() {
                    // The pipeline ended without failing (finished): this never resolves.
                    std::future::pending::<()>().await;
                }
            }
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, ()> {
        let Self {
            packets,
            finish,
            task,
            ..
        } = *self;
        Box::pin(async move {
            let _ = finish.send(());
            drop(packets);
            let _ = task.await;
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn sink(
        capacity: usize,
    ) -> (
        FfmpegSink,
        mpsc::Receiver<Input>,
        watch::Sender<Option<String>>,
    ) {
        let (packets, receiver) = mpsc::channel(capacity);
        let (finish, _) = oneshot::channel();
        let (failed_tx, failed) = watch::channel(None);
        let sink = FfmpegSink {
            packets,
            finish,
            failed,
            shared: Arc::default(),
            task: tokio::spawn(async {}),
            dropping: false,
            held: Held::default(),
            new_publisher: false,
            username: "tester".into(),
            overflows: OverflowLog::default(),
        };
        (sink, receiver, failed_tx)
    }

    fn video(first: u8, second: u8, timestamp_ms: u32) -> MediaPacket {
        MediaPacket::Video {
            timestamp_ms,
            data: Bytes::from(vec![first, second, 0, 0, 0]),
        }
    }

    fn label(input: &Input) -> String {
        let packet = match input {
            Input::Packet(packet) => packet,
            Input::NewPublisher => return "new publisher".into(),
        };
        match packet {
            MediaPacket::Video { timestamp_ms, data } => match (data[0], data[1]) {
                (0x17, 0) => format!("header@{timestamp_ms}"),
                (0x17, 1) => format!("key@{timestamp_ms}"),
                _ => format!("frame@{timestamp_ms}"),
            },
            MediaPacket::Audio { timestamp_ms, .. } => format!("audio@{timestamp_ms}"),
            MediaPacket::Metadata { .. } => "metadata".into(),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_until_the_next_keyframe_and_replays_held_headers() {
        let (mut sink, mut receiver, _failed) = sink(3);
        for packet in [video(0x17, 1, 0), video(0x27, 1, 33), video(0x27, 1, 66)] {
            sink.push(packet).expect("queued");
        }
        // Full: dropped without waiting, a new codec header is kept aside.
        sink.push(video(0x27, 1, 100))
            .expect("dropped, not refused");
        sink.push(video(0x17, 0, 120)).expect("held");
        sink.push(MediaPacket::Audio {
            timestamp_ms: 125,
            data: Bytes::from_static(&[0xaf, 1, 0]),
        })
        .expect("dropped");
        let mut seen = Vec::new();
        while let Ok(packet) = receiver.try_recv() {
            seen.push(label(&packet));
        }
        assert_eq!(seen, ["key@0", "frame@33", "frame@66"]);

        // Room again, but a delta frame is still dropped: decoding must restart at a keyframe.
        sink.push(video(0x27, 1, 133)).expect("dropped");
        sink.push(video(0x17, 1, 1000)).expect("resumes");
        sink.push(video(0x27, 1, 1033)).expect("queued");
        let mut seen = Vec::new();
        while let Ok(packet) = receiver.try_recv() {
            seen.push(label(&packet));
        }
        assert_eq!(seen, ["header@120", "key@1000", "frame@1033"]);
    }

    #[tokio::test]
    async fn a_new_publisher_is_announced_before_its_headers_and_first_keyframe() {
        let (mut sink, mut receiver, _failed) = sink(16);
        sink.push(video(0x17, 1, 0)).expect("queued");
        sink.push(video(0x17, 0, 10))
            .expect("a header the old publisher sent late");
        sink.new_publisher();
        // The new stream: headers, then audio and a delta frame before its keyframe.
        sink.push(video(0x17, 0, 0)).expect("held");
        sink.push(video(0x27, 1, 5)).expect("dropped");
        sink.push(video(0x17, 1, 33)).expect("resumes");
        sink.push(video(0x27, 1, 66)).expect("queued");
        let mut seen = Vec::new();
        while let Ok(input) = receiver.try_recv() {
            seen.push(label(&input));
        }
        assert_eq!(
            seen,
            [
                "key@0",
                "header@10",
                "new publisher",
                "header@0",
                "key@33",
                "frame@66"
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_pipeline_refuses_packets_and_resolves_failed() {
        let (mut sink, _receiver, failed) = sink(8);
        failed.send_replace(Some("ffmpeg exited (exit status: 1)".into()));
        let error = sink.push(video(0x27, 1, 0)).expect_err("refused");
        assert!(error.to_string().contains("exit status: 1"), "{error}");
        let error = sink.failed().await;
        assert!(matches!(error, MediaError::Ended(reason) if reason.contains("exit status")));
    }

    #[tokio::test]
    async fn a_stopped_pipeline_refuses_packets() {
        let (mut sink, receiver, _failed) = sink(8);
        drop(receiver);
        assert!(sink.push(video(0x17, 1, 0)).is_err());
    }

    #[test]
    fn a_stream_that_keeps_overflowing_warns_at_most_once_a_period_with_the_count() {
        let mut log = OverflowLog::default();
        let start = Instant::now();
        assert_eq!(
            log.overflowed(start),
            Some(1),
            "the first overflow is reported"
        );
        assert_eq!(log.overflowed(start + Duration::from_secs(1)), None);
        assert_eq!(log.overflowed(start + Duration::from_secs(29)), None);
        assert_eq!(
            log.overflowed(start + OVERFLOW_WARNING_PERIOD),
            Some(3),
            "the next warning counts the overflows it stood for"
        );
        assert_eq!(log.overflowed(start + Duration::from_secs(31)), None);
    }
}
