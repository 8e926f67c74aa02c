//! `start`: config → users gRPC client, rooms callbacks and the ffmpeg transcoder (with live
//! thumbnails beside it) → the RTMP listener feeding publish sessions, and the HTTP listener
//! (health, metrics, HLS origin and thumbnails); and
//! the `Running` handle tests and `main` wait on. Every task it spawns ends when `shutdown` fires.

use std::{net::SocketAddr, sync::Arc};

use ferrocast_kit::http::{RequestLimits, ServerLimits};
use ferrocast_proto::client::{UsersAuth, UsersAuthConfig};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::hls::{self, HlsRegistry},
    adapters::media::FfmpegTranscoder,
    adapters::recording::Recorder,
    adapters::rtmp,
    adapters::thumbnails::{ThumbnailingTranscoder, Thumbnails},
    adapters::{rooms::HttpRoomCallbacks, users::GrpcKeyAuthenticator},
    ports::{self, Transcoder},
    service::{Handovers, SessionDeps},
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
    #[error("invalid users service settings: {0}")]
    Users(String),
    #[error("cannot build the rooms callback client: {0}")]
    Rooms(String),
    #[error(transparent)]
    Media(#[from] ports::MediaError),
    #[error("past broadcasts: {0}")]
    Recording(String),
}

/// A started ingest.
pub struct Running {
    pub rtmp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl Running {
    /// Resolves once everything has stopped after `shutdown` fired (live sessions have sent
    /// `publish_done` by then).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts the RTMP listener, the ffmpeg HLS pipeline per publish, and the HTTP listener
/// (health, metrics, HLS origin).
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, StartError> {
    let registry = HlsRegistry::new();
    let transcoder = Arc::new(FfmpegTranscoder::new(
        config.media.clone(),
        registry.clone(),
        shutdown.clone(),
    ));
    // A missing ffmpeg or an HLS root we cannot create would otherwise only show at the first
    // publish, as a refused stream: refuse to start instead.
    transcoder.check().await?;
    let thumbnails = config
        .thumbnail_settings()
        .map(|settings| Thumbnails::new(settings, registry.clone()));
    let thumbnailing = thumbnails.clone().map(|thumbnails| {
        Arc::new(ThumbnailingTranscoder::new(
            transcoder.clone(),
            thumbnails,
            shutdown.clone(),
        ))
    });
    let pipelines: Arc<dyn Transcoder> = match &thumbnailing {
        Some(thumbnailing) => thumbnailing.clone(),
        None => transcoder.clone(),
    };
    // Past broadcasts: a recording beside every pipeline (`adapters::recording`).
    let recorder = Recorder::start(
        config.recording.clone(),
        config.media.hls_root.clone(),
        config.media.ffmpeg_path.clone(),
        config.service_token(),
        shutdown.clone(),
    )
    .await
    .map_err(StartError::Recording)?;
    let pipelines = match &recorder {
        Some(recorder) => recorder.wrap(pipelines),
        None => pipelines,
    };
    let mut running = serve(config, pipelines, registry, thumbnails, shutdown.clone()).await?;
    // After shutdown, pipelines still close their playlists and remove their folders: wait.
    running.tasks.spawn(async move {
        shutdown.cancelled().await;
        if let Some(thumbnailing) = thumbnailing {
            thumbnailing.wait().await;
        }
        transcoder.wait().await;
        if let Some(recorder) = recorder {
            recorder.wait().await;
        }
    });
    Ok(running)
}

/// [`start`] with a given media pipeline (tests record what reaches it); the HLS origin then
/// serves nothing.
pub async fn start_with_transcoder(
    config: Config,
    transcoder: Arc<dyn Transcoder>,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    serve(config, transcoder, HlsRegistry::new(), None, shutdown).await
}

async fn serve(
    config: Config,
    transcoder: Arc<dyn Transcoder>,
    registry: HlsRegistry,
    thumbnails: Option<Thumbnails>,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    config.validate()?;
    let users = UsersAuth::connect_lazy(&UsersAuthConfig::new(
        config.upstreams.users_grpc_url.clone(),
        config.service_token(),
    ))
    .map_err(|e| StartError::Users(e.to_string()))?;
    let callbacks = HttpRoomCallbacks::new(
        config.upstreams.rooms_callback_url.clone(),
        config.listen.origin_url.clone(),
        config.service_token(),
        config.callback_timeout(),
    )
    .map_err(|e| StartError::Rooms(e.to_string()))?
    .with_thumbnails(thumbnails.clone());
    let deps = Arc::new(SessionDeps {
        authenticator: Arc::new(GrpcKeyAuthenticator::new(users)),
        callbacks: Arc::new(callbacks),
        transcoder,
        update_interval: config.update_interval(),
        start_timeout: config.pipeline_start_timeout(),
        finish_timeout: config.pipeline_start_timeout(),
    });
    let handovers = Arc::new(Handovers::new(
        config.sessions.takeover_stall,
        config.sessions.reconnect_grace,
    ));

    let (rtmp_listener, rtmp_addr) = bind(&config.listen.rtmp_addr).await?;

    let mut tasks = JoinSet::new();
    tasks.spawn(rtmp::server::run(
        rtmp_listener,
        Arc::new(config.connection_settings()),
        ferrocast_kit::admission::Admission::new(
            config.rtmp.max_connections,
            config.rtmp.max_connections_per_ip,
        ),
        deps,
        handovers,
        shutdown.clone(),
    ));

    let files = hls::FileCache::new(
        config.origin.hls_cache_mb.saturating_mul(1024 * 1024),
        config.origin.sendfile,
    );
    let shards = match config.origin.http_shards {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        shards => shards,
    };
    let origin = hls::Origin::new(registry, files);
    let extra = thumbnails.map_or_else(axum::Router::new, crate::adapters::thumbnails::routes);
    let (http_addr, http_stopped) = serve_http_with(
        &config.listen.http_addr,
        shards,
        config.http_limits(),
        origin,
        extra,
        shutdown,
    )
    .await
    .map_err(|source| StartError::Bind {
        addr: config.listen.http_addr.clone(),
        source,
    })?;
    tasks.spawn(http_stopped);
    tracing::info!(%rtmp_addr, %http_addr, "ingest listening");
    Ok(Running {
        rtmp_addr,
        http_addr,
        tasks,
    })
}

/// The ingest's HTTP listener: health, metrics and the HLS origin on `shards` threads sharing the
/// port. Returns the bound address and a future that resolves once it stopped after `shutdown`.
pub async fn serve_http(
    addr: &str,
    shards: usize,
    limits: ServerLimits,
    origin: hls::Origin,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    serve_http_with(addr, shards, limits, origin, axum::Router::new(), shutdown).await
}

/// [`serve_http`] with `extra` routes beside the HLS origin's (the live thumbnails).
async fn serve_http_with(
    addr: &str,
    shards: usize,
    limits: ServerLimits,
    origin: hls::Origin,
    extra: axum::Router,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    let operations = ferrocast_kit::health::routes(axum::Router::new(), Vec::new());
    let operations = ferrocast_kit::metrics::instrument(operations);
    let operations = ferrocast_kit::http::limits(operations, RequestLimits::default());
    // The HLS routes are the hot path: lighter limits, and counted by file kind in the handler
    // instead of the per-route histogram. Plain reads of cached files do not even reach them
    // (`hls::edge`), and the listener is sharded per core like nginx's workers.
    let router = operations.merge(ferrocast_kit::http::edge_limits(
        hls::routes(origin.clone()).merge(extra),
        RequestLimits::default(),
    ));
    hls::serve_sharded(addr, shards, limits, shutdown, move |peer| {
        // One reference count per request, not a clone of each part.
        let shared = Arc::new((origin.clone(), router.clone()));
        hyper::service::service_fn(move |request| {
            let shared = shared.clone();
            async move {
                let (origin, router) = &*shared;
                hls::edge::respond(origin, router, peer, request).await
            }
        })
    })
    .await
}

async fn bind(addr: &str) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    ferrocast_kit::http::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.to_owned(),
            source,
        })
}
