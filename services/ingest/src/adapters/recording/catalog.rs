//! The catalogue's internal recording routes, as the ingest calls them on a streamer's behalf
//! (`x-service-token`), and the bytes' way to storage: only to the URLs, with the headers, the
//! catalogue's answers name (presigned, bound to length and SHA-256). Also the stream's title,
//! read from rooms' public room.

use std::{collections::BTreeMap, time::Duration};

use bytes::Bytes;
use ferrocast_kit::http::SERVICE_TOKEN_HEADER;
use reqwest::StatusCode;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::journal::Meta;

/// How long one catalogue call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one PUT to storage may take (a 64 MiB single PUT or one part on a slow link).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer, a 5xx, or an answer we cannot read: try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 409 on register: the streamer does not keep past broadcasts.
    #[error("the streamer does not keep past broadcasts")]
    NotWanted,
    /// Any other refusal: trying again would get the same answer.
    #[error("refused with status {0}: {1}")]
    Refused(u16, String),
}

/// A request the catalogue signed: send exactly this.
#[derive(Debug, Clone, Deserialize)]
pub struct Signed {
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Upload {
    Put { request: Signed },
    Multipart { part_size: u64, parts: u64 },
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaRef {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Registered {
    pub media: MediaRef,
    pub upload: Option<Upload>,
}

#[derive(Debug, Deserialize)]
struct PartUrl {
    number: u32,
    request: Signed,
}

#[derive(Debug, Deserialize)]
struct PartUrls {
    parts: Vec<PartUrl>,
}

#[derive(Debug, Serialize)]
struct Owner<'a> {
    user_id: &'a str,
    username: &'a str,
}

pub struct CatalogClient {
    calls: reqwest::Client,
    transfers: reqwest::Client,
    catalog: String,
    rooms: String,
    token: String,
}

impl CatalogClient {
    pub fn new(catalog: &str, rooms: &str, token: String) -> Result<Self, reqwest::Error> {
        let build = |timeout: Duration| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(Duration::from_secs(3))
                .pool_idle_timeout(ferrocast_kit::http::CLIENT_POOL_IDLE_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
        };
        Ok(Self {
            calls: build(CALL_TIMEOUT)?,
            transfers: build(TRANSFER_TIMEOUT)?,
            catalog: catalog.trim_end_matches('/').to_owned(),
            rooms: rooms.trim_end_matches('/').to_owned(),
            token,
        })
    }

    async fn call<R: DeserializeOwned>(
        &self,
        meta: &Meta,
        action: &str,
        extra: serde_json::Value,
    ) -> Result<Option<R>, CallError> {
        let mut body = serde_json::to_value(Owner {
            user_id: &meta.user_id,
            username: &meta.username,
        })
        .map_err(|e| CallError::Unavailable(e.to_string()))?;
        if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let url = format!(
            "{}/internal/recordings/{}/{action}",
            self.catalog, meta.recording_id
        );
        let response = self
            .calls
            .post(url)
            .header(SERVICE_TOKEN_HEADER, &self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| CallError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            if status == StatusCode::NO_CONTENT {
                return Ok(None);
            }
            return response
                .json()
                .await
                .map(Some)
                .map_err(|e| CallError::Unavailable(format!("unreadable answer: {e}")));
        }
        let text = response.text().await.unwrap_or_default();
        let text: String = text.chars().take(300).collect();
        Err(match status {
            StatusCode::CONFLICT if action == "register" => CallError::NotWanted,
            // A refused token is a misconfiguration an operator fixes: keep the recording.
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS => {
                CallError::Unavailable(format!("status {}: {text}", status.as_u16()))
            }
            // Finalize before the bytes are complete: upload again.
            StatusCode::CONFLICT => CallError::Unavailable(format!("status 409: {text}")),
            status if status.is_server_error() => {
                CallError::Unavailable(format!("status {}: {text}", status.as_u16()))
            }
            status => CallError::Refused(status.as_u16(), text),
        })
    }

    /// Whether the streamer keeps past broadcasts.
    pub async fn begin(&self, meta: &Meta) -> Result<bool, CallError> {
        #[derive(Deserialize)]
        struct Begun {
            record: bool,
        }
        let begun: Option<Begun> = self.call(meta, "begin", serde_json::json!({})).await?;
        Ok(begun.is_none_or(|b| b.record))
    }

    pub async fn stopped(&self, meta: &Meta, reason: &str) -> Result<(), CallError> {
        self.call::<serde_json::Value>(meta, "stopped", serde_json::json!({ "reason": reason }))
            .await
            .map(|_| ())
    }

    pub async fn register(
        &self,
        meta: &Meta,
        size: u64,
        sha256: &str,
    ) -> Result<Registered, CallError> {
        self.call(
            meta,
            "register",
            serde_json::json!({
                "stream_title": meta.stream_title,
                "started_at": meta.started_at,
                "size": size,
                "sha256": sha256,
            }),
        )
        .await?
        .ok_or_else(|| CallError::Unavailable("an empty answer to register".into()))
    }

    /// Signed URLs for `parts` (`(number, sha256 hex)`, at most 100).
    pub async fn parts(
        &self,
        meta: &Meta,
        parts: &[(u32, String)],
    ) -> Result<Vec<(u32, Signed)>, CallError> {
        let parts: Vec<serde_json::Value> = parts
            .iter()
            .map(|(number, sha256)| serde_json::json!({ "number": number, "sha256": sha256 }))
            .collect();
        let urls: PartUrls = self
            .call(meta, "parts", serde_json::json!({ "parts": parts }))
            .await?
            .ok_or_else(|| CallError::Unavailable("an empty answer to parts".into()))?;
        Ok(urls
            .parts
            .into_iter()
            .map(|p| (p.number, p.request))
            .collect())
    }

    pub async fn finalize(&self, meta: &Meta) -> Result<MediaRef, CallError> {
        self.call(meta, "finalize", serde_json::json!({}))
            .await?
            .ok_or_else(|| CallError::Unavailable("an empty answer to finalize".into()))
    }

    /// Sends `body` as `request` says. Storage refusing it is "unavailable": the next round
    /// asks the catalogue again, which signs anew.
    pub async fn send(&self, request: &Signed, body: Bytes) -> Result<(), CallError> {
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| CallError::Refused(0, format!("method {:?}", request.method)))?;
        let mut builder = self.transfers.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .body(body)
            .send()
            .await
            .map_err(|e| CallError::Unavailable(format!("storage: {}", e.without_url())))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(CallError::Unavailable(format!(
                "storage answered {}",
                response.status().as_u16()
            )))
        }
    }

    /// The live room's title, if rooms answers with one.
    pub async fn stream_title(&self, username: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Room {
            title: String,
        }
        let response = self
            .calls
            .get(format!("{}/api/rooms/{username}", self.rooms))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<Room>().await.ok().map(|room| room.title)
    }
}
