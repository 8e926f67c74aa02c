//! A users service, a catalogue and accounts on them; uploads the way a browser makes them.

use ferrocast_catalog::Config;
use ferrocast_testkit::{catalog::Catalog, Account, Options, Platform};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct World {
    pub platform: Platform,
    pub catalog: Catalog,
    pub http: reqwest::Client,
}

impl World {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let platform = Platform::start(Options::users())
            .await
            .expect("users starts");
        let catalog = Catalog::start_with(&platform.users_grpc_url(), adjust)
            .await
            .expect("catalog starts");
        Self {
            platform,
            catalog,
            http: reqwest::Client::new(),
        }
    }

    pub async fn account(&self) -> Account {
        self.platform.account().await
    }

    /// `method path` on the catalogue with `token` as Bearer (if any) and `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.catalog.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("catalog answers")
    }

    /// The status and JSON body of a call.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.call(method, path, token, body).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Creates a media item for `bytes` (201 expected) and returns its answer.
    pub async fn create(&self, token: &str, fields: Value) -> Value {
        let (status, body) = self
            .json(Method::POST, "/api/media", Some(token), Some(fields))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Creates, uploads and finalizes `bytes`; the finalized item.
    pub async fn upload(&self, token: &str, title: &str, tags: &[&str], bytes: &[u8]) -> Value {
        self.upload_as(token, video(title, tags, bytes), bytes)
            .await
    }

    /// Creates with `fields`, uploads and finalizes `bytes`; the finalized item.
    pub async fn upload_as(&self, token: &str, fields: Value, bytes: &[u8]) -> Value {
        let created = self.create(token, fields).await;
        let put = put_signed(&self.http, &created["upload"]["request"], bytes.to_vec()).await;
        assert!(put.status().is_success(), "{:?}", put.text().await);
        let id = created["media"]["id"].as_str().expect("id");
        let (status, item) = self
            .json(
                Method::POST,
                &format!("/api/media/{id}/finalize"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{item}");
        item
    }
}

impl World {
    /// The owner's original of media `id`, downloaded through the link the API hands out.
    pub async fn download_original(&self, token: &str, id: &str) -> Response {
        let (status, link) = self
            .json(
                Method::GET,
                &format!("/api/media/{id}/original"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{link}");
        self.http
            .get(link["url"].as_str().expect("url"))
            .send()
            .await
            .expect("storage answers")
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The start of a real MP4 (an `ftyp` box) followed by `length` filler bytes made unique by
/// `seed`: enough for the catalogue, which reads only the first bytes.
pub fn mp4_bytes(length: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41".to_vec();
    bytes.extend((0..length).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

/// The create body of a public MP4 video holding `bytes`.
pub fn video(title: &str, tags: &[&str], bytes: &[u8]) -> Value {
    json!({
        "kind": "video",
        "title": title,
        "description": "",
        "tags": tags,
        "size": bytes.len(),
        "sha256": sha256_hex(bytes),
        "content_type": "video/mp4",
    })
}

/// Sends `body` with the method, URL and headers of a signed request from the API.
pub async fn put_signed(http: &reqwest::Client, signed: &Value, body: Vec<u8>) -> Response {
    let method = Method::from_bytes(signed["method"].as_str().expect("method").as_bytes())
        .expect("a method");
    let mut request = http.request(method, signed["url"].as_str().expect("url"));
    for (name, value) in signed["headers"].as_object().expect("headers") {
        request = request.header(name.as_str(), value.as_str().expect("header value"));
    }
    request.body(body).send().await.expect("storage answers")
}

/// An open Server-Sent Events answer, read event by event.
pub struct SseReader {
    response: Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next named event's name and JSON data (comments and unnamed blocks skipped), or
    /// `None` when none comes within `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                match name {
                    Some(name) => {
                        let data = serde_json::from_str(&data.join("\n")).expect("JSON data");
                        return Some((name, data));
                    }
                    None => assert!(data.is_empty(), "an event without a name: {block}"),
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .expect("the stream stays readable")
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
