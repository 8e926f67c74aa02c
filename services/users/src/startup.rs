//! `start`: config → store (and its rate-limit counters) → hasher/tokens → REST and gRPC servers
//! on their listeners, and the `Running` handle tests and `main` wait on. Every task it spawns
//! ends when `shutdown` fires.

use std::{net::SocketAddr, sync::Arc};

use ferrocast_kit::{
    config::ConfigError,
    http::{bind, serve},
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    adapters::{
        grpc::{self, GrpcError},
        http::{self, AppState},
        key_cache::CachedStreamKeys,
        mongo::MongoUserStore,
        passwords::Argon2Hasher,
        rate_limits::MongoRateLimiter,
        tokens::JwtIssuer,
    },
    config::Config,
    ports::{HashError, StoreError, UserStore},
    service::{Accounts, Throttle},
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot prepare the user store")]
    Store(#[from] StoreError),
    #[error("cannot set up password hashing")]
    Hasher(#[from] HashError),
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Grpc(#[from] GrpcError),
}

/// A started users service.
pub struct Running {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl Running {
    /// Resolves once both servers have stopped (after the shutdown token fired).
    pub async fn wait(mut self) {
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a users server task failed");
            }
        }
    }
}

/// Starts the users service; it runs until `shutdown` is cancelled.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, StartError> {
    let resolved = config.resolve()?;
    let store = MongoUserStore::connect(&config.store.url, &config.store.database).await?;
    // The counters live in the accounts' store, shared by every replica, so a limit holds
    // however a client's requests are spread over replicas.
    let throttle = Throttle::new(
        Arc::new(MongoRateLimiter::new(store.database()).await?),
        config.rate_limits(),
    );
    // A login flood may take every core but one: the rest of this process (token checks, gRPC
    // key lookups) and whatever shares the machine keep a core. With every core hashing, GET
    // /api/rooms on the same 2-core machine saw a p99 of 111 ms during a 200-login flood (A3).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let hasher = Argon2Hasher::new(
        cores.saturating_sub(1).max(1),
        resolved.password_queue_limit,
    )
    .await?;
    let tokens = JwtIssuer::new(
        resolved.jwt_secret.expose().as_bytes(),
        resolved.token_lifetime,
    );
    let store: Arc<dyn UserStore> = if config.store.stream_key_cache.is_zero() {
        Arc::new(store)
    } else {
        Arc::new(CachedStreamKeys::new(
            Arc::new(store),
            config.store.stream_key_cache,
        ))
    };
    let accounts = Arc::new(Accounts::new(
        store,
        Arc::new(hasher),
        Arc::new(tokens),
        throttle,
    ));

    let (http_listener, http_addr) =
        bind(&config.listen.http_addr)
            .await
            .map_err(|source| StartError::Bind {
                what: "REST",
                addr: config.listen.http_addr.clone(),
                source,
            })?;
    let (grpc_listener, grpc_addr) =
        bind(&config.listen.grpc_addr)
            .await
            .map_err(|source| StartError::Bind {
                what: "gRPC",
                addr: config.listen.grpc_addr.clone(),
                source,
            })?;

    let router = http::router(AppState {
        accounts: accounts.clone(),
        cookie_secure: config.tokens.cookie_secure,
        trusted_proxies: config.clients.trusted_proxies.clone(),
    });
    let grpc_server = grpc::serve(
        grpc_listener,
        accounts,
        &resolved.service_token,
        shutdown.clone(),
    )
    .await?;

    let mut tasks = JoinSet::new();
    tasks.spawn(serve(
        http_listener,
        router,
        config.clients.server_limits(),
        shutdown,
    ));
    tasks.spawn(grpc_server);
    tracing::info!(%http_addr, %grpc_addr, "users service started");
    Ok(Running {
        http_addr,
        grpc_addr,
        tasks,
    })
}
