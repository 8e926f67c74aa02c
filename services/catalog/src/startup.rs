//! `start`: config → PostgreSQL (migrated), object storage (bucket made, CORS set), the users
//! gRPC client, the job queue (connecting in the background) → use cases → the report
//! recorder, the progress relay, the sweeper and the HTTP server, and the `Running` handle
//! tests and `main` wait on. Every task it spawns ends when `shutdown` fires.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use ferrocast_kit::{http::RequestLimits, sealing::Sealer};
use ferrocast_proto::client::{UsersAuth, UsersAuthConfig};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::{
        self,
        http::{
            playback::{AccountEvents, Events, EVENTS_CAPACITY},
            progress::Streams,
            AppState,
        },
        playback::RedisPlayback,
        postgres::PgMediaStore,
        progress::{NatsProgress, ProgressHub},
        queue::NatsJobs,
        recordings::PgRecordings,
        s3::S3Objects,
        users::GrpcUsers,
    },
    domain::playback::Tokens,
    service::{self, recordings::Recordings, Catalog, Playback, Settings},
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
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("object storage: {0}")]
    Storage(String),
    #[error("invalid users service settings: {0}")]
    Users(String),
    #[error("job queue: {0}")]
    Queue(String),
    #[error("playback sessions (Redis): {0}")]
    Playback(String),
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

/// Starts the catalogue. PostgreSQL and the storage must answer at start (migrations run and
/// the bucket is prepared before the first request); the users service may come later
/// (`/readyz` tells, and writes fail closed until it does).
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, StartError> {
    config.validate()?;
    let pool = adapters::postgres::connect(config.store.url.expose())
        .await
        .map_err(|e| StartError::Postgres(e.to_string()))?;
    let objects = S3Objects::new(&config.storage);
    objects
        .prepare_bucket(&config.upload_origins())
        .await
        .map_err(|e| StartError::Storage(e.to_string()))?;
    let users = UsersAuth::connect_lazy(&UsersAuthConfig::new(
        config.users.grpc_url.clone(),
        config.service_token(),
    ))
    .map_err(|e| StartError::Users(e.to_string()))?;
    let jobs = Arc::new(
        NatsJobs::connect(&config.queue)
            .await
            .map_err(|e| StartError::Queue(e.to_string()))?,
    );
    let sessions = Arc::new(
        RedisPlayback::new(&config.playback.redis_url, &config.playback.key_prefix)
            .map_err(|e| StartError::Playback(e.to_string()))?,
    );
    let recordings_store = Arc::new(PgRecordings::new(pool.clone()));
    let hub = ProgressHub::default();
    let catalog = Arc::new(
        Catalog::new(
            Arc::new(PgMediaStore::new(pool.clone())),
            Arc::new(objects),
            Arc::new(GrpcUsers::new(users)),
            jobs.clone(),
            Settings {
                limits: config.upload_limits(),
                quota: config.uploads.quota,
                url_ttl: config.uploads.url_ttl,
                upload_expiry: config.uploads.expiry,
                search_concurrency: config.search.concurrency,
                sealer: config.content_keys.secret.as_ref().map(Sealer::new),
            },
        )
        .announcing(Arc::new(NatsProgress::new(jobs.client(), hub.clone())))
        .with_playback(Playback {
            store: sessions.clone(),
            tokens: Tokens::new(session_token_key(&config)),
            limit: config.playback.limit,
            lease: config.playback.lease,
            per_second: config.playback.per_second,
        }),
    );

    let (listener, http_addr) = ferrocast_kit::http::bind(&config.listen.http_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen.http_addr.clone(),
            source,
        })?;
    let mut tasks = JoinSet::new();
    tasks.spawn(adapters::progress::relay(
        jobs.client(),
        hub.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(adapters::queue::record_reports(
        jobs,
        catalog.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(service::sweeper::run(
        catalog.clone(),
        config.uploads.sweep_interval,
        shutdown.clone(),
    ));
    let events = AccountEvents::new(EVENTS_CAPACITY);
    {
        let (sessions, events, shutdown) = (sessions.clone(), events.clone(), shutdown.clone());
        tasks.spawn(async move { sessions.listen(events, shutdown).await });
    }
    tasks.spawn(service::sweeper::sessions(
        catalog.clone(),
        Duration::from_secs(1),
        shutdown.clone(),
    ));
    let progress = Streams::new(
        hub,
        config.clients.trusted_proxies.clone(),
        shutdown.clone(),
    );
    let playback = Events::new(
        events,
        config.clients.trusted_proxies.clone(),
        shutdown.clone(),
    );
    let recordings = adapters::http::recordings::RecordingsState {
        recordings: Arc::new(Recordings::new(catalog.clone(), recordings_store)),
        service_token: Arc::from(config.service_token()),
    };
    let router = adapters::http::router(
        AppState {
            catalog,
            progress,
            playback,
        },
        RequestLimits::default(),
    )
    .merge(adapters::http::recordings::router(
        recordings,
        RequestLimits::default(),
    ));
    tasks.spawn(ferrocast_kit::http::serve(
        listener,
        router,
        config.clients.server_limits(),
        shutdown,
    ));
    tracing::info!(%http_addr, "catalog listening");
    Ok(Running { http_addr, tasks })
}

/// The key session tokens are signed with: derived from the service token, which every
/// replica shares and nothing outside the platform knows (a new service token ends every
/// session's token, as a new lease would).
fn session_token_key(config: &Config) -> [u8; 32] {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, config.service_token().as_bytes())
        .expand(b"ferrocast playback session tokens v1", &mut key)
        .unwrap_or_else(|_| unreachable!("HKDF output of 32 bytes"));
    key
}
