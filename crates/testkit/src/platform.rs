//! The platform in one test process: users, then any of rooms → ingest → gateway, each started
//! through its crate's `start(config, shutdown)` on loopback port 0, each with a shutdown token
//! of its own so a test can take one service away and bring it back. A suite starts the subset
//! it tests ([`Options::users`], [`Options::users_and_rooms`], …; the cargo features `users`,
//! `rooms`, `ingest`, `gateway` build only what it needs) and talks to it the way clients do:
//! [`Platform::streamer`] signs up, logs in and creates a stream key through the public REST
//! API (the gateway when it runs, else the services themselves).

use std::{fmt, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
#[cfg(feature = "ingest")]
use ferrocast_ingest::adapters::media::{CopyMuxer, MediaConfig};
use ferrocast_kit::{client::TrustedProxies, http::ServerLimits};
use ferrocast_proto::{
    client::{UsersAuth, UsersAuthConfig},
    users_v1::auth_client::AuthClient,
    SERVICE_TOKEN_HEADER,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tonic::{
    service::{interceptor::InterceptedService, Interceptor},
    transport::{Channel, Endpoint},
    Request, Status,
};

#[cfg(feature = "rooms")]
pub mod rooms;

use crate::{redis_server::RedisServer, redis_url, unique_name, DocumentStore};

/// The service token every in-process service shares (dev value: tests only).
pub const SERVICE_TOKEN: &str = ferrocast_kit::config::TEST_SERVICE_TOKEN;
pub const PASSWORD: &str = "correct horse battery";

/// A change a test makes to a service's test config before the service starts.
pub struct Adjust<C>(Arc<dyn Fn(&mut C) + Send + Sync>);

impl<C> Adjust<C> {
    pub fn new(adjust: impl Fn(&mut C) + Send + Sync + 'static) -> Self {
        Self(Arc::new(adjust))
    }

    fn apply(this: &Option<Self>, config: &mut C) {
        if let Some(adjust) = this {
            (adjust.0)(config);
        }
    }
}

impl<C> Clone for Adjust<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> fmt::Debug for Adjust<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Adjust(..)")
    }
}

/// What a test needs from the platform.
#[derive(Debug, Clone)]
pub struct Options {
    /// Start rooms (feature `rooms`). Users always runs.
    pub rooms: bool,
    /// Start the gateway in front of users and rooms (feature `gateway`).
    pub gateway: bool,
    /// Changes to users' test config (applied after the fields below).
    pub users_config: Option<Adjust<ferrocast_users::Config>>,
    /// Changes to rooms' test config (applied after the fields below).
    #[cfg(feature = "rooms")]
    pub rooms_config: Option<Adjust<ferrocast_rooms::Config>>,
    /// Data on disk so [`DocumentStore::restart`] keeps it (L7, D1).
    pub persistent_store: bool,
    /// A redis-server of the test's own instead of the shared one (L5 restarts it).
    pub own_redis: bool,
    pub lease_seconds: u64,
    /// Start the ingest (RTMP + HLS origin; feature `ingest`).
    pub ingest: bool,
    /// Kept for readability of the cases that watch HLS output; the ingest always runs its
    /// real ffmpeg pipelines (passthrough by default, cheap on two cores).
    pub media: bool,
    pub idle_timeout_ms: u64,
    pub update_interval_ms: u64,
    /// Where HLS sessions are written; a fresh temporary folder when `None`.
    pub hls_root: Option<PathBuf>,
    /// `FERROCAST_HLS_LADDER`; empty = passthrough only (cheap on two cores).
    pub ladder: String,
    #[cfg(feature = "ingest")]
    /// Who writes the passthrough rendition: the ingest itself (default, no ffmpeg for a
    /// passthrough-only ladder) or ffmpeg (the cases that crash the pipeline's ffmpeg).
    pub copy_muxer: CopyMuxer,
    /// Header read timeout of the gateway (slowloris defence under test).
    pub header_read_timeout: Duration,
    /// The ingest's per-IP RTMP connection cap (default 16): every test publisher is 127.0.0.1.
    pub max_connections_per_ip: usize,
    /// How long users lets a login wait for a hashing slot before answering 503 `busy`;
    /// `None` keeps the service's default.
    pub password_queue: Option<Duration>,
    /// `FERROCAST_INGEST_NETWORKS` of rooms and the gateway; `None` keeps loopback.
    pub ingest_networks: Option<String>,
    /// nginx-rtmp mode of rooms: `(hls application, default origin)`.
    pub nginx_mode: Option<(String, String)>,
    /// Rate limits of users' login, signup and key rotation; `None` keeps the test config's
    /// generous ones (every test client is 127.0.0.1 and many tests make dozens of accounts).
    pub rate_limits: Option<ferrocast_users::RateLimits>,
    /// Every HTTP listener's per-address connection cap. Every test client is 127.0.0.1, which
    /// the gateway does not trust as a proxy, so the default is far above the product's 64 and
    /// only the connection-flood cases set it.
    pub max_connections_per_address: usize,
    /// The gateway's total connection cap (product default 4096).
    pub gateway_max_connections: usize,
    /// How long an HTTP/2 connection to the gateway may idle (product default 60 s).
    pub gateway_idle_timeout: Duration,
    /// `FERROCAST_GATEWAY_TRUSTED_PROXIES`: whose `X-Forwarded-*` headers the gateway believes.
    pub gateway_trusted_proxies: TrustedProxies,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rooms: true,
            gateway: true,
            users_config: None,
            #[cfg(feature = "rooms")]
            rooms_config: None,
            persistent_store: false,
            own_redis: false,
            lease_seconds: 3,
            ingest: true,
            media: false,
            idle_timeout_ms: 2_000,
            update_interval_ms: 500,
            hls_root: None,
            ladder: String::new(),
            #[cfg(feature = "ingest")]
            copy_muxer: CopyMuxer::Native,
            header_read_timeout: ServerLimits::default().header_read_timeout,
            max_connections_per_ip: 16,
            password_queue: None,
            ingest_networks: None,
            nginx_mode: None,
            rate_limits: None,
            max_connections_per_address: 4096,
            gateway_max_connections: ServerLimits::default().max_connections,
            gateway_idle_timeout: ServerLimits::default().idle_timeout,
            gateway_trusted_proxies: TrustedProxies::none(),
        }
    }
}

impl Options {
    /// Users alone, on its document store: the users suite.
    pub fn users() -> Self {
        Self {
            rooms: false,
            ingest: false,
            gateway: false,
            ..Self::default()
        }
    }

    /// Users and rooms (on Redis), no ingest or gateway: the rooms suite.
    pub fn users_and_rooms() -> Self {
        Self {
            rooms: true,
            ..Self::users()
        }
    }

    /// Users, rooms and the gateway, no ingest: the system cases of the APIs alone.
    pub fn without_ingest() -> Self {
        Self {
            ingest: false,
            ..Self::default()
        }
    }

    /// Users, rooms and the ingest, no gateway: the ingest suite.
    pub fn without_gateway() -> Self {
        Self {
            ingest: true,
            ..Self::users_and_rooms()
        }
    }

    /// `users_config` set to `adjust`.
    pub fn adjust_users(
        self,
        adjust: impl Fn(&mut ferrocast_users::Config) + Send + Sync + 'static,
    ) -> Self {
        Self {
            users_config: Some(Adjust::new(adjust)),
            ..self
        }
    }

    /// `rooms_config` set to `adjust`.
    #[cfg(feature = "rooms")]
    pub fn adjust_rooms(
        self,
        adjust: impl Fn(&mut ferrocast_rooms::Config) + Send + Sync + 'static,
    ) -> Self {
        Self {
            rooms_config: Some(Adjust::new(adjust)),
            ..self
        }
    }
}

/// One in-process service: its address(es), its shutdown token and its running handle.
pub struct Service<R> {
    pub shutdown: CancellationToken,
    pub running: Option<R>,
}

impl<R> Service<R> {
    fn new(shutdown: CancellationToken, running: R) -> Self {
        Self {
            shutdown,
            running: Some(running),
        }
    }
}

impl<R> Drop for Service<R> {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A streamer created through the REST API: account, access token and stream key.
#[derive(Debug, Clone)]
pub struct Streamer {
    pub username: String,
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub token: String,
    pub key: String,
}

/// A signed-up, logged-in user without a stream key.
#[derive(Debug, Clone)]
pub struct Account {
    pub username: String,
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub token: String,
}

/// The services a test started (see [`Options`]) and how to reach them. Every service stops
/// when the platform is dropped; the addresses of a service that was not started are `None`
/// (or panic through their accessors, e.g. [`Platform::rooms_http`]).
pub struct Platform {
    pub options: Options,
    pub store: DocumentStore,
    pub redis: Option<RedisServer>,
    pub redis_url: String,
    pub key_prefix: String,
    pub users_http: SocketAddr,
    pub users_grpc: SocketAddr,
    rooms_addr: Option<SocketAddr>,
    pub ingest_rtmp: Option<SocketAddr>,
    /// The ingest's HTTP server (health, metrics, `/hls`).
    pub ingest_http: Option<SocketAddr>,
    /// Where `/hls/...` of this ingest is served (the origin rooms hands to the gateway).
    pub hls_origin: Option<SocketAddr>,
    /// Where the ingest writes HLS (empty when the platform runs without one).
    pub hls_root: PathBuf,
    /// The gateway's public and internal (`/healthz`, `/readyz`, `/metrics`) listeners.
    gateway_addrs: Option<(SocketAddr, SocketAddr)>,
    pub users: Service<ferrocast_users::Running>,
    #[cfg(feature = "rooms")]
    pub rooms: Option<Service<ferrocast_rooms::Running>>,
    #[cfg(feature = "ingest")]
    pub ingest: Option<Service<ferrocast_ingest::Running>>,
    #[cfg(feature = "gateway")]
    pub gateway: Option<Service<ferrocast_gateway::Running>>,
    pub http: reqwest::Client,
    _hls_dir: Option<tempfile::TempDir>,
    _frontend: Option<tempfile::TempDir>,
}

impl Platform {
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let store = if options.persistent_store {
            DocumentStore::start_persistent().await?
        } else {
            DocumentStore::start().await?
        };
        Self::start_on(store, options).await
    }

    /// The platform on a store the caller already started.
    pub async fn start_on(store: DocumentStore, options: Options) -> anyhow::Result<Self> {
        let redis = if options.own_redis && options.rooms {
            Some(RedisServer::start().await?)
        } else {
            None
        };
        let redis_url = redis.as_ref().map_or_else(redis_url, RedisServer::url);
        let key_prefix = format!("{}:", unique_name("sys_"));

        let users_shutdown = CancellationToken::new();
        let users_config = users_config(&options, &store, None);
        let users_running = ferrocast_users::start(users_config, users_shutdown.clone())
            .await
            .context("users starts")?;
        let (users_http, users_grpc) = (users_running.http_addr, users_running.grpc_addr);

        let mut platform = Self {
            options,
            store,
            redis,
            redis_url,
            key_prefix,
            users_http,
            users_grpc,
            rooms_addr: None,
            ingest_rtmp: None,
            ingest_http: None,
            hls_origin: None,
            hls_root: PathBuf::new(),
            gateway_addrs: None,
            users: Service::new(users_shutdown, users_running),
            #[cfg(feature = "rooms")]
            rooms: None,
            #[cfg(feature = "ingest")]
            ingest: None,
            #[cfg(feature = "gateway")]
            gateway: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .pool_idle_timeout(ferrocast_kit::http::CLIENT_POOL_IDLE_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            _hls_dir: None,
            _frontend: None,
        };
        if platform.options.rooms {
            platform.start_rooms().await?;
        }
        if platform.options.ingest {
            platform.start_own_ingest().await?;
        }
        if platform.options.gateway {
            platform.start_gateway().await?;
        }
        Ok(platform)
    }

    #[cfg(not(feature = "rooms"))]
    async fn start_rooms(&mut self) -> anyhow::Result<()> {
        anyhow::bail!("rooms asked for, but ferrocast-testkit was built without feature `rooms`")
    }

    #[cfg(feature = "rooms")]
    async fn start_rooms(&mut self) -> anyhow::Result<()> {
        let config = self.rooms_config();
        let shutdown = CancellationToken::new();
        let running = ferrocast_rooms::start(config, shutdown.clone())
            .await
            .context("rooms starts")?;
        self.rooms_addr = Some(running.http_addr);
        self.rooms = Some(Service::new(shutdown, running));
        Ok(())
    }

    /// The config of a rooms instance of this platform: its Redis and key prefix, its users,
    /// the options' lease and modes, then `rooms_config`. A test may start more replicas on it.
    #[cfg(feature = "rooms")]
    pub fn rooms_config(&self) -> ferrocast_rooms::Config {
        let options = &self.options;
        let mut config = ferrocast_rooms::Config::for_tests(
            self.redis_url.clone(),
            self.key_prefix.clone(),
            self.users_grpc_url(),
            SERVICE_TOKEN,
        );
        config.leases.lease = Duration::from_secs(options.lease_seconds);
        if let Some(networks) = &options.ingest_networks {
            config.origins.ingest_networks = networks.parse().expect("ingest networks");
        }
        if let Some((app, origin)) = &options.nginx_mode {
            config.nginx.hls_app = Some(app.clone());
            config.origins.default_origin = Some(origin.clone());
        }
        config.clients.max_connections_per_address = options.max_connections_per_address;
        Adjust::apply(&options.rooms_config, &mut config);
        config
    }

    #[cfg(not(feature = "ingest"))]
    async fn start_own_ingest(&mut self) -> anyhow::Result<()> {
        anyhow::bail!(
            "the ingest asked for, but ferrocast-testkit was built without feature `ingest`"
        )
    }

    #[cfg(feature = "ingest")]
    async fn start_own_ingest(&mut self) -> anyhow::Result<()> {
        let (hls_dir, hls_root) = match &self.options.hls_root {
            Some(root) => (None, root.clone()),
            None => {
                let dir = tempfile::tempdir()?;
                let root = dir.path().join("hls");
                (Some(dir), root)
            }
        };
        let (service, rtmp, http, origin) = start_ingest(
            &self.options,
            self.users_grpc,
            self.rooms_http(),
            &hls_root,
            None,
        )
        .await?;
        self.ingest = Some(service);
        (self.ingest_rtmp, self.ingest_http, self.hls_origin) = (Some(rtmp), Some(http), origin);
        (self._hls_dir, self.hls_root) = (hls_dir, hls_root);
        Ok(())
    }

    #[cfg(not(feature = "gateway"))]
    async fn start_gateway(&mut self) -> anyhow::Result<()> {
        anyhow::bail!(
            "the gateway asked for, but ferrocast-testkit was built without feature `gateway`"
        )
    }

    #[cfg(feature = "gateway")]
    async fn start_gateway(&mut self) -> anyhow::Result<()> {
        let options = &self.options;
        let frontend = tempfile::tempdir()?;
        std::fs::write(
            frontend.path().join("index.html"),
            "<!doctype html><title>ferrocast</title>",
        )?;
        let mut tuning = ferrocast_gateway::Tuning::default();
        tuning.server.header_read_timeout = options.header_read_timeout;
        tuning.server.idle_timeout = options.gateway_idle_timeout;
        tuning.server.max_connections = options.gateway_max_connections;
        let mut config = ferrocast_gateway::Config::for_tests();
        config.listen.http_addr = "127.0.0.1:0".into();
        config.listen.trusted_proxies = options.gateway_trusted_proxies.clone();
        config.listen.max_connections_per_address = options.max_connections_per_address;
        config.routes.users_url = format!("http://{}", self.users_http);
        config.routes.rooms_url = format!("http://{}", self.rooms_http());
        config.routes.frontend_dir = frontend.path().to_path_buf();
        config.tuning = tuning;
        if let Some(networks) = &options.ingest_networks {
            config.routes.ingest_networks = networks.parse()?;
        }
        let shutdown = CancellationToken::new();
        let running = ferrocast_gateway::start(config, shutdown.clone())
            .await
            .context("gateway starts")?;
        self.gateway_addrs = Some((running.http_addr, running.internal_addr));
        self.gateway = Some(Service::new(shutdown, running));
        self._frontend = Some(frontend);
        Ok(())
    }

    /// Rooms' HTTP address (panics when the platform runs without rooms).
    pub fn rooms_http(&self) -> SocketAddr {
        self.rooms_addr.expect("rooms started")
    }

    /// The gateway's public address (panics when the platform runs without it).
    pub fn gateway_http(&self) -> SocketAddr {
        self.gateway_addrs.expect("gateway started").0
    }

    /// The gateway's internal listener: `/healthz`, `/readyz`, `/metrics`.
    pub fn gateway_internal(&self) -> SocketAddr {
        self.gateway_addrs.expect("gateway started").1
    }

    /// `path` of the public REST API: through the gateway when it runs, else straight to the
    /// service that owns it (`/api/rooms`, `/api/events` → rooms; the rest → users).
    pub fn api_url(&self, path: &str) -> String {
        match (self.gateway_addrs, self.rooms_addr) {
            (Some((gateway, _)), _) => format!("http://{gateway}{path}"),
            (None, Some(rooms))
                if path.starts_with("/api/rooms") || path.starts_with("/api/events") =>
            {
                format!("http://{rooms}{path}")
            }
            _ => self.users_url(path),
        }
    }

    pub fn users_grpc_url(&self) -> String {
        format!("http://{}", self.users_grpc)
    }

    pub fn gateway_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway_http())
    }

    pub fn gateway_internal_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway_internal())
    }

    pub fn users_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.users_http)
    }

    pub fn rooms_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.rooms_http())
    }

    pub fn hls_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.hls_origin.expect("media enabled"))
    }

    pub fn rtmp_url(&self, key: &str) -> String {
        format!(
            "rtmp://{}/live/{key}",
            self.ingest_rtmp.expect("ingest started")
        )
    }

    /// Signs a unique user up, logs in and creates a stream key, all through the public API.
    pub async fn streamer(&self) -> Streamer {
        let account = self.account().await;
        let key = self.rotate_key(&account.token).await;
        Streamer {
            username: account.username,
            email: account.email,
            password: account.password,
            user_id: account.user_id,
            token: account.token,
            key,
        }
    }

    /// Signs a unique user up and logs them in through the public API; no stream key yet.
    pub async fn account(&self) -> Account {
        let username = unique_name("s_");
        let email = format!("{username}@example.com");
        let response = self.signup(&username, &email, PASSWORD).await;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 201, "signup {username}: {body}");
        let user_id = serde_json::from_str::<Value>(&body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = self.login(&username, PASSWORD).await;
        Account {
            username,
            email,
            password: PASSWORD.to_owned(),
            user_id,
            token,
        }
    }

    /// `POST /api/users` (signup) through the public API.
    pub async fn signup(&self, username: &str, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.api_url("/api/users"))
            .json(&json!({ "username": username, "email": email, "password": password }))
            .send()
            .await
            .expect("signup")
    }

    /// `POST /api/users/login` through the public API, sent by `client` (a browser with its
    /// own cookie jar, or a plain one).
    pub async fn post_login(
        &self,
        client: &reqwest::Client,
        login: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.api_url("/api/users/login"))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("login")
    }

    /// Logs in through the public API and returns the access token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let response = self.post_login(&self.http, login, password).await;
        assert_eq!(response.status(), 200, "login {login}");
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates or rotates the stream key of the token's user; returns the full key.
    pub async fn rotate_key(&self, token: &str) -> String {
        let response = self
            .http
            .post(self.api_url("/api/users/me/stream-key"))
            .bearer_auth(token)
            .send()
            .await
            .expect("stream key");
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["stream_key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET path` of the public API with `token` as the bearer.
    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.api_url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// The typed client other services use for users (service token, deadline).
    pub fn users_auth(&self) -> UsersAuth {
        UsersAuth::connect_lazy(&UsersAuthConfig::new(self.users_grpc_url(), SERVICE_TOKEN))
            .expect("users auth client")
    }

    /// A raw users gRPC client presenting `token` (or nothing) as the service token.
    pub fn raw_grpc(
        &self,
        token: Option<&str>,
    ) -> AuthClient<InterceptedService<Channel, PresentToken>> {
        AuthClient::with_interceptor(self.users_channel(), PresentToken(token.map(str::to_owned)))
    }

    /// A lazy gRPC channel to users.
    pub fn users_channel(&self) -> Channel {
        Endpoint::from_shared(self.users_grpc_url())
            .expect("grpc url")
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .connect_lazy()
    }

    /// Usernames `GET /api/rooms` lists through the public API (`None` if the request failed).
    pub async fn live_rooms(&self) -> Option<Vec<String>> {
        let response = self
            .http
            .get(self.api_url("/api/rooms?limit=100"))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        Some(
            body["rooms"]
                .as_array()?
                .iter()
                .filter_map(|r| r["username"].as_str().map(str::to_owned))
                .collect(),
        )
    }

    /// Whether `GET /api/rooms/{username}` on rooms answers 200.
    pub async fn is_live(&self, username: &str) -> bool {
        self.http
            .get(self.rooms_url(&format!("/api/rooms/{username}")))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    }

    /// Waits until the room of `username` is live (or not) on rooms.
    pub async fn wait_live(&self, username: &str, live: bool, limit: Duration) -> bool {
        crate::eventually(limit, || async { self.is_live(username).await == live }).await
    }

    /// A rooms `/callbacks/rtmp` request as nginx-rtmp sends it (no service token).
    pub async fn callback(&self, form: &[(&str, &str)], service_token: bool) -> reqwest::Response {
        let mut request = self.http.post(self.rooms_url("/callbacks/rtmp")).form(form);
        if service_token {
            request = request.header("x-service-token", SERVICE_TOKEN);
        }
        request.send().await.expect("callback")
    }

    /// Rooms' internal record of `username`'s live room (`GET /internal/rooms/{username}` with the
    /// service token, as the gateway asks), or `None` when offline.
    pub async fn internal_room(&self, username: &str) -> Option<Value> {
        let response = self
            .http
            .get(self.rooms_url(&format!("/internal/rooms/{username}")))
            .header("x-service-token", SERVICE_TOKEN)
            .send()
            .await
            .ok()?;
        if response.status() != 200 {
            return None;
        }
        response.json().await.ok()
    }

    /// Stops users (gracefully) and waits until its servers are closed.
    pub async fn stop_users(&mut self) {
        self.users.shutdown.cancel();
        if let Some(running) = self.users.running.take() {
            running.wait().await;
        }
    }

    /// Starts users again on the same addresses (rooms and ingest keep their URLs).
    pub async fn restart_users(&mut self) -> anyhow::Result<()> {
        self.stop_users().await;
        let config = users_config(
            &self.options,
            &self.store,
            Some((self.users_http, self.users_grpc)),
        );
        let shutdown = CancellationToken::new();
        let running = ferrocast_users::start(config, shutdown.clone()).await?;
        self.users = Service::new(shutdown, running);
        Ok(())
    }

    /// Stops the ingest gracefully (sessions send `publish_done`).
    #[cfg(feature = "ingest")]
    pub async fn stop_ingest(&mut self) {
        if let Some(mut ingest) = self.ingest.take() {
            ingest.shutdown.cancel();
            if let Some(running) = ingest.running.take() {
                let _ = tokio::time::timeout(Duration::from_secs(20), running.wait()).await;
            }
        }
    }

    /// A second ingest node against the same users and rooms (its own RTMP and HLS ports).
    #[cfg(feature = "ingest")]
    pub async fn extra_ingest(&self) -> anyhow::Result<Ingest> {
        let (service, rtmp, http, origin) = start_ingest(
            &self.options,
            self.users_grpc,
            self.rooms_http(),
            &self.hls_root,
            None,
        )
        .await?;
        Ok(Ingest {
            service,
            rtmp,
            http,
            hls_origin: origin,
        })
    }
}

/// An ingest started next to the platform's own.
#[cfg(feature = "ingest")]
pub struct Ingest {
    pub service: Service<ferrocast_ingest::Running>,
    pub rtmp: SocketAddr,
    pub http: SocketAddr,
    pub hls_origin: Option<SocketAddr>,
}

/// Users' test config on `store` with the options' limits, then `users_config`; on `addrs`
/// (HTTP, gRPC) when restarting, else port 0.
fn users_config(
    options: &Options,
    store: &DocumentStore,
    addrs: Option<(SocketAddr, SocketAddr)>,
) -> ferrocast_users::Config {
    let mut config = ferrocast_users::Config::for_tests(store.url(), store.database());
    if let Some((http, grpc)) = addrs {
        config.listen.http_addr = http.to_string();
        config.listen.grpc_addr = grpc.to_string();
    }
    if let Some(queue) = options.password_queue {
        config.limits.password_queue = queue;
    }
    if let Some(limits) = options.rate_limits {
        config.set_rate_limits(limits);
    }
    config.clients.max_connections_per_address = options.max_connections_per_address;
    Adjust::apply(&options.users_config, &mut config);
    config
}

/// An HTTP client with its own cookie jar, like one browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(15))
        .build()
        .expect("http client")
}

/// Presents a service token (or none) on every gRPC request.
#[derive(Clone)]
pub struct PresentToken(Option<String>);

impl Interceptor for PresentToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert(SERVICE_TOKEN_HEADER, token.parse().expect("ascii token"));
        }
        Ok(request)
    }
}

/// The ingest config the platform uses: test timeouts, its HTTP port chosen up front because the
/// origin URL it reports to rooms must name it.
#[cfg(feature = "ingest")]
pub fn ingest_config(
    options: &Options,
    users_grpc: SocketAddr,
    rooms_http: SocketAddr,
) -> anyhow::Result<ferrocast_ingest::Config> {
    let mut config = ferrocast_ingest::Config::for_tests(
        format!("http://{users_grpc}"),
        format!("http://{rooms_http}/callbacks/rtmp"),
        SERVICE_TOKEN,
    )?;
    let http_port = crate::free_port();
    config.listen.http_addr = format!("127.0.0.1:{http_port}");
    config.listen.origin_url = format!("http://127.0.0.1:{http_port}");
    config.rtmp.idle_timeout = Duration::from_millis(options.idle_timeout_ms);
    config.sessions.update_interval = Duration::from_millis(options.update_interval_ms);
    config.rtmp.max_connections_per_ip = options.max_connections_per_ip;
    config.clients.max_connections_per_address = options.max_connections_per_address;
    Ok(config)
}

/// Media settings of the tests: segments of 1 s, a small window, ultrafast rungs, short grace.
#[cfg(feature = "ingest")]
pub fn media_config(options: &Options, hls_root: &std::path::Path) -> MediaConfig {
    MediaConfig {
        hls_root: hls_root.to_path_buf(),
        hls_segment_seconds: 1,
        hls_playlist_window: 6,
        hls_ladder: ferrocast_ingest::adapters::media::parse_ladder(&options.ladder)
            .unwrap_or_default(),
        hls_copy_muxer: options.copy_muxer,
        hls_x264_preset: "ultrafast".into(),
        cleanup_grace: Duration::from_secs(5),
        // A pipeline that writes nothing counts as crashed after this long (default 20 s).
        stall_timeout: Duration::from_secs(5),
        ..MediaConfig::default()
    }
}

#[cfg(feature = "ingest")]
type StartedIngest = (
    Service<ferrocast_ingest::Running>,
    SocketAddr,
    SocketAddr,
    Option<SocketAddr>,
);

/// Starts an ingest through its own `start()`: RTMP, one ffmpeg HLS pipeline per publish and the
/// HLS origin on its HTTP listener (which is the origin reported to rooms).
#[cfg(feature = "ingest")]
pub async fn start_ingest(
    options: &Options,
    users_grpc: SocketAddr,
    rooms_http: SocketAddr,
    hls_root: &std::path::Path,
    config: Option<ferrocast_ingest::Config>,
) -> anyhow::Result<StartedIngest> {
    let mut config = match config {
        Some(config) => config,
        None => ingest_config(options, users_grpc, rooms_http)?,
    };
    config.media = media_config(options, hls_root);
    let shutdown = CancellationToken::new();
    let running = ferrocast_ingest::start(config, shutdown.clone()).await?;
    let (rtmp, http) = (running.rtmp_addr, running.http_addr);
    Ok((Service::new(shutdown, running), rtmp, http, Some(http)))
}
