//! `start`: config → Redis store, users gRPC client and event sink → use cases → the live-event
//! subscription, the lease sweep and the HTTP server, and the `Running` handle tests and
//! `main` wait on. Every task it spawns ends when `shutdown` fires.

use std::{net::SocketAddr, sync::Arc};

use ferrocast_kit::http::RequestLimits;
use ferrocast_proto::client::{UsersAuth, UsersAuthConfig};
use tokio::{sync::broadcast, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::{
        self,
        http::AppState,
        redis::{Keys, RedisEventSink, RedisRoomStore, StoreSettings},
        users::GrpcUsers,
    },
    domain,
    service::{self, Rooms, Settings},
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
    #[error("invalid Redis URL: {0}")]
    Redis(String),
    #[error("invalid users service settings: {0}")]
    Users(String),
}

/// A started rooms service.
pub struct Running {
    pub http_addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl Running {
    /// Resolves once everything has stopped after `shutdown` fired.
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts HTTP, the live-event subscription and the lease sweep. Redis and users may be down at
/// start: `/readyz` reports them and requests fail closed until they are back.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, StartError> {
    config.validate()?;
    let keys = Keys::new(config.store.key_prefix.clone());
    let (client, connection) = adapters::redis::connect(&config.store.url)
        .map_err(|e| StartError::Redis(e.to_string()))?;
    let store = RedisRoomStore::new(
        connection.clone(),
        keys.clone(),
        StoreSettings {
            lease: config.leases.lease,
            viewer_window: config.viewers.window,
            viewers_per_address: config.viewers.per_address,
            viewer_events_interval: config.viewers.events_interval,
        },
    );
    let users = UsersAuth::connect_lazy(&UsersAuthConfig::new(
        config.users.grpc_url.clone(),
        config.service_token(),
    ))
    .map_err(|e| StartError::Users(e.to_string()))?;
    let rooms = Arc::new(Rooms::new(
        Arc::new(store),
        Arc::new(GrpcUsers::new(users)),
        Arc::new(RedisEventSink::new(connection, &keys)),
        Arc::new(adapters::dns::SystemResolver),
        Settings {
            nginx_hls_app: config.nginx.hls_app.clone(),
            nginx_push_url: config.nginx.push_url.clone(),
            default_origin: config.origins.default_origin.clone(),
            ingest_networks: config.origins.ingest_networks.clone(),
            takeover: config.leases.takeover,
            viewer_tokens: domain::ViewerTokens::from_service_token(config.service_token()),
        },
    ));

    let (listener, http_addr) = ferrocast_kit::http::bind(&config.listen.http_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen.http_addr.clone(),
            source,
        })?;

    let mut tasks = JoinSet::new();
    let (events, _) = broadcast::channel(1024);
    let (subscribed, subscribed_rx) = tokio::sync::oneshot::channel();
    tasks.spawn(adapters::redis::events::run_subscriber(
        client,
        keys.channel(),
        events.clone(),
        Some(subscribed),
        shutdown.clone(),
    ));
    // Waiting briefly for the subscription means events caused right after start reach this
    // replica's SSE clients; with Redis down, start anyway and let readiness tell.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), subscribed_rx).await;

    tasks.spawn(service::sweeper::run(
        rooms.clone(),
        config.leases.sweep_interval,
        shutdown.clone(),
    ));

    let state = AppState {
        rooms,
        events,
        service_token: Arc::from(config.service_token()),
        trusted_proxies: Arc::new(config.clients.trusted_proxies.clone()),
        shutdown: shutdown.clone(),
    };
    let router = adapters::http::router(state, RequestLimits::default());
    tasks.spawn(ferrocast_kit::http::serve(
        listener,
        router,
        config.clients.server_limits(),
        shutdown,
    ));
    tracing::info!(%http_addr, nginx_mode = config.nginx.hls_app.is_some(), "rooms listening");
    Ok(Running { http_addr, tasks })
}
