//! `start`: config → the tools checked, storage, the queue (streams and consumer made) → the
//! job loops and the health/metrics listener, and the `Running` handle tests and `main` wait
//! on. Every task it spawns ends when `shutdown` fires; a job in hand finishes first.

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use ferrocast_kit::{health, http::RequestLimits, metrics, sealing::Sealer};
use ferrocast_media::vod::Limits;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::{queue::Queue, storage::Objects, tools::Tools},
    service::{pipeline::Pipeline, Worker},
    Config,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ferrocast_kit::config::ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("a media tool does not run: {0}")]
    Tools(String),
    #[error("NATS JetStream: {0}")]
    Queue(String),
    #[error("scratch folder {path}: {source}")]
    Scratch {
        path: String,
        source: std::io::Error,
    },
}

pub struct Running {
    pub http_addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl Running {
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, StartError> {
    config.validate()?;
    let work = &config.work;
    let tools = Tools {
        ffmpeg: work.ffmpeg.clone(),
        ffprobe: work.ffprobe.clone(),
        packager: work.packager.clone(),
    };
    tools
        .check()
        .await
        .map_err(|e| StartError::Tools(e.to_string()))?;
    std::fs::create_dir_all(&work.scratch_dir).map_err(|source| StartError::Scratch {
        path: work.scratch_dir.display().to_string(),
        source,
    })?;
    let queue = Queue::connect(&config.nats, config.delivery())
        .await
        .map_err(|e| StartError::Queue(e.to_string()))?;
    let pipeline = Arc::new(Pipeline {
        tools,
        objects: Objects::new(&config.storage),
        scratch_dir: work.scratch_dir.clone(),
        max_source_bytes: work.max_source_bytes,
        limits: Limits {
            max_duration: work.max_duration,
            ..Limits::default()
        },
        rungs: config.rungs()?,
        preset: work.preset.clone(),
        sealer: config.content_keys.secret.as_ref().map(Sealer::new),
    });
    let worker = Arc::new(Worker {
        queue,
        work: pipeline.clone(),
        delivery: config.delivery(),
    });

    let (listener, http_addr) = ferrocast_kit::http::bind(&config.listen.http_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen.http_addr.clone(),
            source,
        })?;
    let mut tasks = JoinSet::new();
    for _ in 0..work.jobs {
        tasks.spawn(worker.clone().run(shutdown.clone()));
    }
    let routes = health::routes(
        Router::new(),
        vec![(
            "storage",
            health::check(move || {
                let pipeline = pipeline.clone();
                async move { pipeline.objects.ping().await.map_err(|e| e.to_string()) }
            }),
        )],
    );
    let router = ferrocast_kit::http::limits(metrics::instrument(routes), RequestLimits::default());
    tasks.spawn(ferrocast_kit::http::serve(
        listener,
        router,
        config.clients.server_limits(),
        shutdown,
    ));
    tracing::info!(%http_addr, jobs = work.jobs, "worker running");
    Ok(Running { http_addr, tasks })
}
