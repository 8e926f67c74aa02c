//! Starting the gateway: config → adapters → router → server on its own task.

use std::{net::SocketAddr, sync::Arc};

use ferrocast_kit::{
    config::ConfigError,
    health::{self, Check},
    http::{bind, serve},
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::{
        origin_cache::CachedDirectory,
        rooms_directory::RoomsDirectory,
        upstream::{UpstreamClient, UpstreamTimeouts},
    },
    web::{self, AppState, StaticSite},
    Config,
};

/// A started gateway.
pub struct Running {
    pub http_addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Running {
    /// Resolves once the server has stopped after `shutdown` fired.
    pub async fn wait(self) {
        if let Err(error) = self.server.await {
            tracing::error!(%error, "gateway server task failed");
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
    let users_url = config.users_http_url.trim_end_matches('/').to_owned();
    let rooms_url = config.rooms_http_url.trim_end_matches('/').to_owned();
    let rooms = RoomsDirectory::new(upstream.client().clone(), &rooms_url, tuning.lookup_timeout);
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
    });
    let router = web::router(
        state,
        StaticSite::new(&config.frontend_dir),
        checks,
        tuning.request,
    );

    let (listener, http_addr) =
        bind(&config.gateway_http_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.gateway_http_addr.clone(),
                source,
            })?;
    let server = tokio::spawn(serve(listener, router, tuning.server.clone(), shutdown));
    tracing::info!(%http_addr, "gateway listening");
    Ok(Running { http_addr, server })
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
