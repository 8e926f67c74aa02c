//! The whole platform in one test process: users → rooms → ingest → gateway, each started through
//! its crate's `start(config, shutdown)` on loopback port 0, each with a shutdown token of its own
//! so a test can take one service away and bring it back.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use ferrocast_ingest::media::{CopyMuxer, MediaConfig};
use ferrocast_kit::{client::TrustedProxies, http::ServerLimits};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{free_port, redis_server::RedisServer, redis_url, unique_name, DocumentStore};

/// The service token every in-process service shares (dev value: tests only).
pub const SERVICE_TOKEN: &str = ferrocast_kit::config::TEST_SERVICE_TOKEN;
pub const PASSWORD: &str = "correct horse battery";

/// What a test needs from the platform.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data on disk so [`DocumentStore::restart`] keeps it (L7, D1).
    pub persistent_store: bool,
    /// A redis-server of the test's own instead of the shared one (L5 restarts it).
    pub own_redis: bool,
    pub lease_seconds: u64,
    /// Start the ingest (RTMP + HLS origin).
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
            persistent_store: false,
            own_redis: false,
            lease_seconds: 3,
            ingest: true,
            media: false,
            idle_timeout_ms: 2_000,
            update_interval_ms: 500,
            hls_root: None,
            ladder: String::new(),
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
    pub user_id: String,
    pub token: String,
    pub key: String,
}

pub struct Platform {
    pub options: Options,
    pub store: DocumentStore,
    pub redis: Option<RedisServer>,
    pub redis_url: String,
    pub key_prefix: String,
    pub users_http: SocketAddr,
    pub users_grpc: SocketAddr,
    pub rooms_http: SocketAddr,
    pub ingest_rtmp: Option<SocketAddr>,
    /// The ingest's HTTP server (health, metrics, `/hls`).
    pub ingest_http: Option<SocketAddr>,
    /// Where `/hls/...` of this ingest is served (the origin rooms hands to the gateway).
    pub hls_origin: Option<SocketAddr>,
    pub hls_root: PathBuf,
    pub gateway_http: SocketAddr,
    /// The gateway's internal listener: `/healthz`, `/readyz`, `/metrics`.
    pub gateway_internal: SocketAddr,
    pub users: Service<ferrocast_users::Running>,
    pub rooms: Service<ferrocast_rooms::Running>,
    pub ingest: Option<Service<ferrocast_ingest::Running>>,
    pub gateway: Service<ferrocast_gateway::Running>,
    pub http: reqwest::Client,
    _hls_dir: Option<tempfile::TempDir>,
    _frontend: tempfile::TempDir,
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
        let redis = if options.own_redis {
            Some(RedisServer::start().await?)
        } else {
            None
        };
        let redis_url = redis.as_ref().map_or_else(redis_url, RedisServer::url);
        let key_prefix = format!("{}:", unique_name("sys_"));

        let users_shutdown = CancellationToken::new();
        let mut users_config = ferrocast_users::Config::for_tests(store.url(), store.database());
        if let Some(queue) = options.password_queue {
            users_config.password_queue_ms = queue.as_millis().try_into()?;
        }
        if let Some(limits) = options.rate_limits {
            users_config.set_rate_limits(limits);
        }
        users_config.http_max_connections_per_address = options.max_connections_per_address;
        let users_running = ferrocast_users::start(users_config, users_shutdown.clone())
            .await
            .context("users starts")?;
        let (users_http, users_grpc) = (users_running.http_addr, users_running.grpc_addr);

        let mut rooms_config = ferrocast_rooms::Config::for_tests(
            redis_url.clone(),
            key_prefix.clone(),
            format!("http://{users_grpc}"),
            SERVICE_TOKEN,
        );
        rooms_config.room_lease_seconds = options.lease_seconds;
        if let Some(networks) = &options.ingest_networks {
            rooms_config.ingest_networks = networks.parse()?;
        }
        if let Some((app, origin)) = &options.nginx_mode {
            rooms_config.rooms_nginx_hls_app = Some(app.clone());
            rooms_config.rooms_default_origin = Some(origin.clone());
        }
        rooms_config.http_max_connections_per_address = options.max_connections_per_address;
        let rooms_shutdown = CancellationToken::new();
        let rooms_running = ferrocast_rooms::start(rooms_config, rooms_shutdown.clone())
            .await
            .context("rooms starts")?;
        let rooms_http = rooms_running.http_addr;

        let (hls_dir, hls_root) = match &options.hls_root {
            Some(root) => (None, root.clone()),
            None => {
                let dir = tempfile::tempdir()?;
                let root = dir.path().join("hls");
                (Some(dir), root)
            }
        };
        let mut platform_ingest = None;
        let (mut ingest_rtmp, mut ingest_http, mut hls_origin) = (None, None, None);
        if options.ingest {
            let (service, rtmp, http, origin) =
                start_ingest(&options, users_grpc, rooms_http, &hls_root, None).await?;
            platform_ingest = Some(service);
            (ingest_rtmp, ingest_http, hls_origin) = (Some(rtmp), Some(http), origin);
        }

        let frontend = tempfile::tempdir()?;
        std::fs::write(
            frontend.path().join("index.html"),
            "<!doctype html><title>ferrocast</title>",
        )?;
        let mut tuning = ferrocast_gateway::Tuning::default();
        tuning.server.header_read_timeout = options.header_read_timeout;
        tuning.server.idle_timeout = options.gateway_idle_timeout;
        tuning.server.max_connections = options.gateway_max_connections;
        let gateway_config = ferrocast_gateway::Config {
            gateway_http_addr: "127.0.0.1:0".into(),
            users_http_url: format!("http://{users_http}"),
            rooms_http_url: format!("http://{rooms_http}"),
            frontend_dir: frontend.path().to_path_buf(),
            tuning,
            gateway_trusted_proxies: options.gateway_trusted_proxies.clone(),
            http_max_connections_per_address: options.max_connections_per_address,
            ..ferrocast_gateway::Config::for_tests()
        };
        let mut gateway_config = gateway_config;
        if let Some(networks) = &options.ingest_networks {
            gateway_config.ingest_networks = networks.parse()?;
        }
        let gateway_shutdown = CancellationToken::new();
        let gateway_running = ferrocast_gateway::start(gateway_config, gateway_shutdown.clone())
            .await
            .context("gateway starts")?;
        let gateway_http = gateway_running.http_addr;
        let gateway_internal = gateway_running.internal_addr;

        Ok(Self {
            options,
            store,
            redis,
            redis_url,
            key_prefix,
            users_http,
            users_grpc,
            rooms_http,
            ingest_rtmp,
            ingest_http,
            hls_origin,
            hls_root,
            gateway_http,
            gateway_internal,
            users: Service::new(users_shutdown, users_running),
            rooms: Service::new(rooms_shutdown, rooms_running),
            ingest: platform_ingest,
            gateway: Service::new(gateway_shutdown, gateway_running),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .pool_idle_timeout(ferrocast_kit::http::CLIENT_POOL_IDLE_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            _hls_dir: hls_dir,
            _frontend: frontend,
        })
    }

    pub fn gateway_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway_http)
    }

    pub fn gateway_internal_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway_internal)
    }

    pub fn users_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.users_http)
    }

    pub fn rooms_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.rooms_http)
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

    /// Signs a unique user up, logs in and creates a stream key, all through the gateway.
    pub async fn streamer(&self) -> Streamer {
        let username = unique_name("s_");
        let email = format!("{username}@example.com");
        let response = self
            .http
            .post(self.gateway_url("/api/users"))
            .json(&json!({ "username": username, "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("signup");
        assert_eq!(response.status(), 201, "signup {username}");
        let user_id = response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = self.login(&username, PASSWORD).await;
        let key = self.rotate_key(&token).await;
        Streamer {
            username,
            email,
            user_id,
            token,
            key,
        }
    }

    /// Logs in through the gateway and returns the access token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let response = self
            .http
            .post(self.gateway_url("/api/users/login"))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("login");
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
            .post(self.gateway_url("/api/users/me/stream-key"))
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

    /// Usernames `GET /api/rooms` lists through the gateway (`None` if the request failed).
    pub async fn live_rooms(&self) -> Option<Vec<String>> {
        let response = self
            .http
            .get(self.gateway_url("/api/rooms?limit=100"))
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
        let mut config =
            ferrocast_users::Config::for_tests(self.store.url(), self.store.database());
        config.http_addr = self.users_http.to_string();
        config.grpc_addr = self.users_grpc.to_string();
        if let Some(limits) = self.options.rate_limits {
            config.set_rate_limits(limits);
        }
        let shutdown = CancellationToken::new();
        let running = ferrocast_users::start(config, shutdown.clone()).await?;
        self.users = Service::new(shutdown, running);
        Ok(())
    }

    /// Stops the ingest gracefully (sessions send `publish_done`).
    pub async fn stop_ingest(&mut self) {
        if let Some(mut ingest) = self.ingest.take() {
            ingest.shutdown.cancel();
            if let Some(running) = ingest.running.take() {
                let _ = tokio::time::timeout(Duration::from_secs(20), running.wait()).await;
            }
        }
    }

    /// A second ingest node against the same users and rooms (its own RTMP and HLS ports).
    pub async fn extra_ingest(&self) -> anyhow::Result<Ingest> {
        let (service, rtmp, http, origin) = start_ingest(
            &self.options,
            self.users_grpc,
            self.rooms_http,
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
pub struct Ingest {
    pub service: Service<ferrocast_ingest::Running>,
    pub rtmp: SocketAddr,
    pub http: SocketAddr,
    pub hls_origin: Option<SocketAddr>,
}

/// The ingest config the platform uses: test timeouts, its HTTP port chosen up front because the
/// origin URL it reports to rooms must name it.
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
    let http_port = free_port();
    config.ingest_http_addr = format!("127.0.0.1:{http_port}");
    config.ingest_origin_url = format!("http://127.0.0.1:{http_port}");
    config.ingest_idle_timeout_ms = options.idle_timeout_ms;
    config.ingest_update_interval_ms = options.update_interval_ms;
    config.ingest_max_connections_per_ip = options.max_connections_per_ip;
    config.http_max_connections_per_address = options.max_connections_per_address;
    Ok(config)
}

/// Media settings of the tests: segments of 1 s, a small window, ultrafast rungs, short grace.
pub fn media_config(options: &Options, hls_root: &std::path::Path) -> MediaConfig {
    MediaConfig {
        hls_root: hls_root.to_path_buf(),
        hls_segment_seconds: 1,
        hls_playlist_window: 6,
        hls_ladder: ferrocast_ingest::media::parse_ladder(&options.ladder).unwrap_or_default(),
        hls_copy_muxer: options.copy_muxer,
        hls_x264_preset: "ultrafast".into(),
        cleanup_grace: Duration::from_secs(5),
        // A pipeline that writes nothing counts as crashed after this long (default 20 s).
        stall_timeout: Duration::from_secs(5),
        ..MediaConfig::default()
    }
}

type StartedIngest = (
    Service<ferrocast_ingest::Running>,
    SocketAddr,
    SocketAddr,
    Option<SocketAddr>,
);

/// Starts an ingest through its own `start()`: RTMP, one ffmpeg HLS pipeline per publish and the
/// HLS origin on its HTTP listener (which is the origin reported to rooms).
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
