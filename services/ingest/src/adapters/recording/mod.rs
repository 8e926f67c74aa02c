//! Past broadcasts: every live broadcast is recorded on this node's disk and, once it ends,
//! becomes a catalogue video owned by the streamer (tag `past-broadcast`).
//!
//! [`Recorder::wrap`] puts a recording beside every media pipeline the ingest starts, without the
//! publish path knowing: a [`Transcoder`] around the real one whose sinks tell the recording when
//! the pipeline finished. `follow` records the source rendition while live; `settle` turns a
//! finished recording into a video through the catalogue's internal routes (`catalog`); the
//! sweeper (`sweep`) settles what a crash or another node left behind, one `lock` per
//! recording; `journal` is the on-disk format that makes all of that restartable.

mod catalog;
mod config;
mod disk;
mod follow;
mod journal;
mod lock;
mod settle;
mod sweep;

use std::{path::PathBuf, sync::Arc};

use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use config::RecordingConfig;

use super::media::WatchedSink;
use crate::ports::{BoxFuture, MediaError, MediaSink, Publisher, Transcoder};

/// Recordings settled at once by this node (each holds up to one part in memory and may run an
/// ffmpeg remux).
const CONCURRENT_UPLOADS: usize = 2;

pub struct Recorder {
    config: RecordingConfig,
    hls_root: PathBuf,
    ffmpeg: PathBuf,
    catalog: catalog::CatalogClient,
    uploads: Semaphore,
    /// What every recording of this ingest holds on disk.
    disk: disk::DiskUsage,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Recorder {
    /// `None` when recording is off (`FERROCAST_INGEST_RECORDING_DIR` empty).
    pub async fn start(
        config: RecordingConfig,
        hls_root: PathBuf,
        ffmpeg: PathBuf,
        service_token: String,
        shutdown: CancellationToken,
    ) -> Result<Option<Arc<Self>>, String> {
        if !config.enabled() {
            return Ok(None);
        }
        tokio::fs::create_dir_all(&config.dir)
            .await
            .map_err(|error| {
                format!(
                    "cannot create the recordings folder {}: {error}",
                    config.dir.display()
                )
            })?;
        let catalog = catalog::CatalogClient::new(
            &config.catalog_http_url,
            &config.rooms_http_url,
            service_token,
        )
        .map_err(|e| format!("cannot build the catalogue client: {e}"))?;
        let recorder = Arc::new(Self {
            disk: disk::DiskUsage::new(config.dir.clone()),
            config,
            hls_root,
            ffmpeg,
            catalog,
            uploads: Semaphore::new(CONCURRENT_UPLOADS),
            tasks: TaskTracker::new(),
            shutdown,
        });
        recorder.tasks.spawn(sweep::run(recorder.clone()));
        Ok(Some(recorder))
    }

    /// `inner` with a recording beside every pipeline it starts.
    pub fn wrap(self: &Arc<Self>, inner: Arc<dyn Transcoder>) -> Arc<dyn Transcoder> {
        Arc::new(RecordingTranscoder {
            inner,
            recorder: self.clone(),
        })
    }

    /// Resolves when every recording task has ended (after `shutdown` fired). A recording still
    /// live or unsettled then stays on disk for the next start's sweeper.
    pub async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

struct RecordingTranscoder {
    inner: Arc<dyn Transcoder>,
    recorder: Arc<Recorder>,
}

impl Transcoder for RecordingTranscoder {
    fn start(
        &self,
        publisher: &Publisher,
    ) -> BoxFuture<'_, Result<Box<dyn MediaSink>, MediaError>> {
        let publisher = publisher.clone();
        Box::pin(async move {
            let inner = self.inner.start(&publisher).await?;
            let ended = CancellationToken::new();
            self.recorder
                .tasks
                .spawn(follow::run(self.recorder.clone(), publisher, ended.clone()));
            Ok(WatchedSink::boxed(inner, ended))
        })
    }
}
