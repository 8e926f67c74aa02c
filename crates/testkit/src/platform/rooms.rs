//! Rooms instances of a test's own beside a [`Platform`] running users alone: any config (two
//! replicas on one Redis, nginx-rtmp mode, a Redis the test kills), and the clients the rooms
//! suite drives them with — callbacks as our ingest or nginx-rtmp send them, the REST list, the
//! internal lookup, viewer heartbeats and a Server-Sent Events reader.

use std::{net::SocketAddr, time::Duration};

use ferrocast_rooms::Config;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{Platform, SERVICE_TOKEN};
use crate::{http::Fetch, redis_url, unique_name};

/// A client that shows redirects instead of following them (nginx-rtmp mode answers 302).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// Where the rooms of tests are served from when a publish names no origin.
pub const DEFAULT_ORIGIN: &str = "http://127.0.0.1:8083";

/// A rooms config on the shared test Redis with a fresh key prefix, against `users`' gRPC, whose
/// publishes without an origin land on [`DEFAULT_ORIGIN`].
pub fn config(users: &Platform) -> Config {
    let mut config = Config::for_tests(
        redis_url(),
        format!("{}:", unique_name("t_rooms_")),
        users.users_grpc_url(),
        SERVICE_TOKEN,
    );
    config.origins.default_origin = Some(DEFAULT_ORIGIN.into());
    config
}

/// [`config`] in nginx-rtmp mode: key publishes are pushed into the `hls` application.
pub fn nginx_config(users: &Platform) -> Config {
    let mut config = config(users);
    config.nginx.hls_app = Some("hls".into());
    config
}

/// A rooms instance, in-process, with the clients its suite drives it with: callbacks as our
/// ingest or nginx-rtmp send them, the REST list, the internal lookup, heartbeats and events.
pub struct Rooms {
    pub http_addr: SocketAddr,
    pub http: reqwest::Client,
    /// nginx-rtmp mode: [`Rooms::publish`] and friends call as nginx does, without the token.
    nginx: bool,
    shutdown: CancellationToken,
    running: Option<ferrocast_rooms::Running>,
}

impl Rooms {
    pub async fn start(config: Config) -> Self {
        let shutdown = CancellationToken::new();
        let nginx = config.nginx.hls_app.is_some();
        let running = ferrocast_rooms::start(config, shutdown.clone())
            .await
            .expect("rooms starts");
        Self {
            http_addr: running.http_addr,
            http: client(),
            nginx,
            shutdown,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http_addr)
    }

    /// Where an ingest or nginx-rtmp sends its callbacks.
    pub fn callback_url(&self) -> String {
        self.url("/callbacks/rtmp")
    }

    /// A callback as nginx-rtmp sends it.
    pub async fn callback(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/callbacks/rtmp"))
            .form(form)
            .send()
            .await
            .expect("callback")
    }

    /// A callback as our ingest sends it (with the service token).
    pub async fn ingest_callback(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/callbacks/rtmp"))
            .header("x-service-token", SERVICE_TOKEN)
            .form(form)
            .send()
            .await
            .expect("callback")
    }

    /// A `publish` for `key` from connection `clientid` into `live`: as nginx-rtmp sends it in
    /// nginx-rtmp mode, else as our ingest does (the service token; the session named after the
    /// connection, the default origin).
    pub async fn publish(&self, key: &str, clientid: &str) -> reqwest::Response {
        self.call("publish", key, clientid).await
    }

    pub async fn update(&self, key: &str, clientid: &str) -> reqwest::Response {
        self.call("update", key, clientid).await
    }

    pub async fn publish_done(&self, key: &str, clientid: &str) -> reqwest::Response {
        self.call("publish_done", key, clientid).await
    }

    async fn call(&self, call: &str, key: &str, clientid: &str) -> reqwest::Response {
        let form = nginx(call, "live", key, clientid);
        if self.nginx {
            self.callback(&form).await
        } else {
            self.ingest_callback(&form).await
        }
    }

    /// Usernames listed by `GET /api/rooms`.
    pub async fn live(&self) -> Vec<String> {
        usernames(
            &self
                .http
                .fetch_json(&self.url("/api/rooms?limit=100"))
                .await,
        )
    }

    /// `GET /api/rooms/{username}`: the public view of a live room (an error body when offline).
    pub async fn room(&self, username: &str) -> Value {
        self.http
            .fetch_json(&self.url(&format!("/api/rooms/{username}")))
            .await
    }

    pub async fn is_live(&self, username: &str) -> bool {
        self.live().await.iter().any(|u| u == username)
    }

    /// `PUT /api/rooms/me/title` as `credential`'s user.
    pub async fn put_title(&self, credential: Credential<'_>, title: &str) -> reqwest::Response {
        let request = self
            .http
            .put(self.url("/api/rooms/me/title"))
            .json(&json!({ "title": title }));
        credential.present(request).send().await.expect("put title")
    }

    /// `GET /api/rooms/me/title` as `credential`'s user.
    pub async fn get_title(&self, credential: Credential<'_>) -> reqwest::Response {
        let request = self.http.get(self.url("/api/rooms/me/title"));
        credential.present(request).send().await.expect("get title")
    }

    /// `GET /internal/rooms/{username}` body, or `None` when offline.
    pub async fn internal(&self, username: &str) -> Option<Value> {
        let response = self
            .http
            .get(self.url(&format!("/internal/rooms/{username}")))
            .header("x-service-token", SERVICE_TOKEN)
            .send()
            .await
            .expect("internal lookup");
        if response.status() == 404 {
            return None;
        }
        assert_eq!(response.status(), 200);
        Some(response.json().await.expect("internal json"))
    }

    /// `POST /api/rooms/{username}/viewers` with `body`, as a client whose address the local
    /// (trusted) proxy forwarded as `forwarded_for`, if any.
    pub async fn heartbeat(
        &self,
        username: &str,
        body: Value,
        forwarded_for: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url(&format!("/api/rooms/{username}/viewers")))
            .json(&body);
        if let Some(client) = forwarded_for {
            request = request.header("x-forwarded-for", client);
        }
        request.send().await.expect("heartbeat")
    }

    pub async fn events(&self) -> Sse {
        let response = self
            .http
            .get(self.url("/api/events"))
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("events");
        assert_eq!(response.status(), 200);
        Sse {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.wait().await;
        }
    }
}

impl Drop for Rooms {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// How a request about the signed-in user presents their access token: as the API clients do
/// (a bearer header), as the browser does (the session cookie), or not at all.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
    Anonymous,
}

impl Credential<'_> {
    fn present(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Bearer(token) => request.bearer_auth(token),
            Credential::Cookie(token) => {
                request.header("cookie", format!("ferrocast_session={token}"))
            }
            Credential::Anonymous => request,
        }
    }
}

/// A watch page's heartbeats: sends back the viewer token each answer hands out, as the
/// frontend does, from one client address (`None`: the test process itself, 127.0.0.1).
#[derive(Debug, Default)]
pub struct Viewer {
    pub token: Option<String>,
    pub address: Option<String>,
}

impl Viewer {
    pub fn at(address: &str) -> Self {
        Self {
            token: None,
            address: Some(address.to_owned()),
        }
    }

    /// One heartbeat: the status and, on 200, the viewer count.
    pub async fn beat(&mut self, rooms: &Rooms, username: &str) -> (u16, Option<u64>) {
        let body = match &self.token {
            Some(token) => json!({ "viewer_token": token }),
            None => json!({}),
        };
        let response = rooms
            .heartbeat(username, body, self.address.as_deref())
            .await;
        let status = response.status().as_u16();
        if status != 200 {
            return (status, None);
        }
        let body: Value = response.json().await.expect("heartbeat json");
        self.token = Some(
            body["viewer_token"]
                .as_str()
                .expect("a viewer token")
                .to_owned(),
        );
        (status, body["viewers"].as_u64())
    }
}

/// The usernames of a `GET /api/rooms` answer (one page), in its order.
pub fn usernames(list: &Value) -> Vec<String> {
    list["rooms"]
        .as_array()
        .expect("a list of rooms")
        .iter()
        .filter_map(|r| r["username"].as_str().map(str::to_owned))
        .collect()
}

/// A callback form with nginx-rtmp's fields.
pub fn nginx<'a>(
    call: &'a str,
    app: &'a str,
    name: &'a str,
    clientid: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("call", call),
        ("app", app),
        ("name", name),
        ("type", "live"),
        ("addr", "127.0.0.1"),
        ("clientid", clientid),
        ("tcurl", "rtmp://127.0.0.1/live"),
    ]
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// A Server-Sent Events reader.
pub struct Sse {
    stream: ByteStream,
    buffer: String,
}

impl Sse {
    /// The next event (name, data) within `timeout`; comments and keep-alives are skipped.
    pub async fn next(&mut self, timeout: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if let Some(name) = name {
                    return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk.ok()?));
        }
    }

    /// Waits for an event named `name` about `username`, skipping others.
    pub async fn expect(&mut self, name: &str, username: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some((n, data)) if n == name && data["username"] == username => return data,
                Some(_) => continue,
                None => panic!("no {name} event for {username} within {timeout:?}"),
            }
        }
    }
}
