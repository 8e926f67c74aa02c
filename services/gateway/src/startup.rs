//! Starting the gateway: config → adapters → routers → the public and the internal server, each
//! on its own task.

use std::{net::SocketAddr, sync::Arc};

use ferrocast_kit::{
    config::ConfigError,
    health::{self, Check},
    http::{bind, serve, ServerLimits},
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::{
        http::{self, AppState, StaticSite},
        origin_cache::CachedDirectory,
        rooms_directory::RoomsDirectory,
        upstream::{UpstreamClient, UpstreamTimeouts},
    },
    Config,
};

/// A started gateway.
pub struct Running {
    /// The public listener (`FERROCAST_GATEWAY_HTTP_ADDR`).
    pub http_addr: SocketAddr,
    /// The internal listener (`FERROCAST_GATEWAY_INTERNAL_ADDR`): `/healthz`, `/readyz`,
    /// `/metrics`.
    pub internal_addr: SocketAddr,
    servers: [JoinHandle<()>; 2],
}

impl Running {
    /// Resolves once both servers have stopped after `shutdown` fired.
    pub async fn wait(self) {
        for server in self.servers {
            if let Err(error) = server.await {
                tracing::error!(%error, "gateway server task failed");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Starts the gateway; it serves until `shutdown` is cancelled.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, StartError> {
    config.validate()?;
    let tuning = &config.tuning;
    let upstream = UpstreamClient::new(UpstreamTimeouts {
        connect: tuning.connect_timeout,
        response: tuning.response_timeout,
        idle_read: tuning.idle_read_timeout,
    })?;
    let users_url = config.routes.users_url.trim_end_matches('/').to_owned();
    let rooms_url = config.routes.rooms_url.trim_end_matches('/').to_owned();
    let rooms = RoomsDirectory::new(
        upstream.client().clone(),
        &rooms_url,
        tuning.lookup_timeout,
        config.service_token()?,
        config.routes.ingest_networks.clone(),
    );
    let checks = vec![
        (
            "users",
            reachable(upstream.client(), &users_url, tuning.readiness_timeout),
        ),
        (
            "rooms",
            reachable(upstream.client(), &rooms_url, tuning.readiness_timeout),
        ),
    ];
    let state = Arc::new(AppState {
        directory: Arc::new(CachedDirectory::new(rooms, tuning.lookup_ttl)),
        upstream,
        users_url,
        rooms_url,
        catalog_url: config.routes.catalog_url.trim_end_matches('/').to_owned(),
        storage_origin: config.storage_origin()?,
    });
    let router = http::router(
        state,
        StaticSite::new(&config.routes.frontend_dir),
        config.listen.trusted_proxies.clone(),
        tuning.request,
    );
    let internal_router = http::internal_router(checks, tuning.request);

    // Both are bound before either serves, so a taken port fails the start with nothing running.
    let (listener, http_addr) = listen(&config.listen.http_addr).await?;
    let (internal_listener, internal_addr) = listen(&config.listen.internal_addr).await?;
    let servers = [
        tokio::spawn(serve(
            listener,
            router,
            public_limits(&config),
            shutdown.clone(),
        )),
        tokio::spawn(serve(
            internal_listener,
            internal_router,
            tuning.server.clone(),
            shutdown,
        )),
    ];
    tracing::info!(%http_addr, %internal_addr, "gateway listening");
    Ok(Running {
        http_addr,
        internal_addr,
        servers,
    })
}

/// The public listener is the edge: only the configured proxies in front (none by default) are
/// exempt from the per-address connection cap, not loopback as on the internal services.
fn public_limits(config: &Config) -> ServerLimits {
    ServerLimits {
        max_connections_per_address: config.listen.max_connections_per_address,
        trusted_proxies: config.listen.trusted_proxies.clone(),
        ..config.tuning.server.clone()
    }
}

async fn listen(addr: &str) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    bind(addr).await.map_err(|source| StartError::Bind {
        addr: addr.to_owned(),
        source,
    })
}

/// Readiness check: the upstream's `/healthz` answers 2xx in time.
fn reachable(client: &reqwest::Client, base: &str, timeout: std::time::Duration) -> Check {
    let client = client.clone();
    let url = format!("{base}/healthz");
    health::check(move || {
        let request = client.get(&url).timeout(timeout).send();
        async move {
            match request.await {
                Ok(response) if response.status().is_success() => Ok(()),
                Ok(response) => Err(format!("status {}", response.status())),
                Err(error) => Err(error.to_string()),
            }
        }
    })
}
