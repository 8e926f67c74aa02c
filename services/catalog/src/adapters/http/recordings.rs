//! Past broadcasts over HTTP: `/internal/recordings/{recording_id}/…`, the routes the ingest
//! turns a recorded broadcast into a video through (service token only: 401 without it, before
//! any handler), and `GET /api/media/recordings`, the signed-in owner's newest recordings and
//! why one stopped early, for the dashboard. A router of its own, merged beside the API's, with
//! the same request limits (body size, deadline).

use std::sync::Arc;

use axum::{
    extract::{rejection::JsonRejection, Path, Request, State},
    http::{HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use ferrocast_kit::{http::RequestLimits, metrics};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    error::{invalid_body, ApiError},
    media::request_id,
    views::{MediaView, PartDigest, PartUrls, UploadView},
};
use crate::{
    ports::{Caller, RecordingRow},
    service::{
        recordings::{FinishedRecording, Recordings},
        CatalogError,
    },
};

#[derive(Clone)]
pub struct RecordingsState {
    pub recordings: Arc<Recordings>,
    /// What the ingest presents (`x-service-token`); never logged.
    pub service_token: Arc<str>,
}

pub fn router(state: RecordingsState, request_limits: RequestLimits) -> Router {
    let internal = Router::new()
        .route("/internal/recordings/{id}/begin", post(begin))
        .route("/internal/recordings/{id}/stopped", post(stopped))
        .route("/internal/recordings/{id}/register", post(register))
        .route("/internal/recordings/{id}/parts", post(parts))
        .route("/internal/recordings/{id}/finalize", post(finalize))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_service_token,
        ));
    let routes = internal
        .route("/api/media/recordings", get(recent))
        .with_state(state);
    // Counted like the API's routes; `/metrics` itself is served by the API's router.
    ferrocast_kit::http::limits(metrics::count_requests(routes), request_limits)
}

async fn require_service_token(
    State(state): State<RecordingsState>,
    request: Request,
    next: Next,
) -> Response {
    if ferrocast_kit::http::presents_service_token(request.headers(), &state.service_token) {
        next.run(request).await
    } else {
        ApiError(CatalogError::Unauthorized).into_response()
    }
}

/// Whose recording: the ingest names the streamer users resolved from the stream key.
#[derive(Debug, Deserialize)]
pub struct Owner {
    pub user_id: String,
    pub username: String,
}

impl Owner {
    fn caller(&self) -> Result<Caller, ApiError> {
        let fits = |s: &str| (1..=128).contains(&s.len()) && !s.chars().any(char::is_control);
        if !fits(&self.user_id) || !fits(&self.username) {
            return Err(ApiError(CatalogError::Validation {
                field: "owner",
                message: "user_id and username must be 1-128 printable characters".into(),
            }));
        }
        Ok(Caller {
            user_id: self.user_id.clone(),
            username: self.username.clone(),
        })
    }
}

fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value).map_err(invalid_body)
}

#[derive(Debug, Serialize)]
struct Begun {
    record: bool,
}

async fn begin(
    State(state): State<RecordingsState>,
    Path(id): Path<String>,
    request: Result<Json<Owner>, JsonRejection>,
) -> Result<Json<Begun>, ApiError> {
    let owner = json(request)?.caller()?;
    let record = state.recordings.begin(&owner, &id).await?;
    Ok(Json(Begun { record }))
}

#[derive(Debug, Deserialize)]
struct Stopped {
    #[serde(flatten)]
    owner: Owner,
    reason: String,
}

async fn stopped(
    State(state): State<RecordingsState>,
    Path(id): Path<String>,
    request: Result<Json<Stopped>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let request = json(request)?;
    let owner = request.owner.caller()?;
    state
        .recordings
        .stopped(&owner, &id, &request.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct Register {
    #[serde(flatten)]
    owner: Owner,
    #[serde(default)]
    stream_title: String,
    started_at: DateTime<Utc>,
    size: u64,
    sha256: String,
}

#[derive(Debug, Serialize)]
struct Registered {
    media: MediaView,
    /// How to upload the bytes; `null` when they are already stored (finalize next).
    upload: Option<UploadView>,
}

async fn register(
    State(state): State<RecordingsState>,
    Path(id): Path<String>,
    request: Result<Json<Register>, JsonRejection>,
) -> Result<Json<Registered>, ApiError> {
    let request = json(request)?;
    let owner = request.owner.caller()?;
    let (item, upload) = state
        .recordings
        .register(
            &owner,
            &id,
            FinishedRecording {
                stream_title: request.stream_title,
                started_at: request.started_at,
                size: request.size,
                sha256: request.sha256,
            },
        )
        .await?;
    Ok(Json(Registered {
        media: item.into(),
        upload: upload.map(Into::into),
    }))
}

#[derive(Debug, Deserialize)]
struct Parts {
    #[serde(flatten)]
    owner: Owner,
    parts: Vec<PartDigest>,
}

async fn parts(
    State(state): State<RecordingsState>,
    Path(id): Path<String>,
    request: Result<Json<Parts>, JsonRejection>,
) -> Result<Json<PartUrls>, ApiError> {
    let request = json(request)?;
    let owner = request.owner.caller()?;
    let wanted = PartDigest::pairs(request.parts);
    let urls = state.recordings.parts(&owner, &id, &wanted).await?;
    Ok(Json(urls.into()))
}

async fn finalize(
    State(state): State<RecordingsState>,
    Path(id): Path<String>,
    request: Result<Json<Owner>, JsonRejection>,
) -> Result<Json<MediaView>, ApiError> {
    let owner = json(request)?.caller()?;
    Ok(Json(state.recordings.finalize(&owner, &id).await?.into()))
}

/// One of the owner's recorded broadcasts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingView {
    pub recording_id: String,
    pub started_at: DateTime<Utc>,
    /// Why the recording stopped before the broadcast did (its length or disk limit), if it did.
    pub stopped_reason: Option<String>,
    /// Why it was refused as a video (over the storage quota, larger than an upload may be), if
    /// it was: no video is made, and the recording waits on the ingest's disk for an operator.
    pub refused_reason: Option<String>,
    /// The video it became, once registered.
    pub media_id: Option<String>,
    /// Its bytes are stored and checked; processing follows.
    pub finalized: bool,
}

impl From<RecordingRow> for RecordingView {
    fn from(row: RecordingRow) -> Self {
        Self {
            recording_id: row.recording_id,
            started_at: row.created_at,
            stopped_reason: row.stopped_reason,
            refused_reason: row.refused_reason,
            media_id: row.media_id.map(|m| m.to_string()),
            finalized: row.finalized,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingList {
    pub recordings: Vec<RecordingView>,
}

/// The signed-in owner's newest recorded broadcasts (at most 10), newest first.
#[utoipa::path(get, path = "/api/media/recordings",
    responses((status = 200, body = RecordingList), (status = 401, description = "not signed in")))]
pub async fn recent(
    State(state): State<RecordingsState>,
    headers: HeaderMap,
) -> Result<Json<RecordingList>, ApiError> {
    let token = ferrocast_kit::http::caller_token(&headers);
    let owner = state
        .recordings
        .catalog()
        .caller(token.as_deref(), request_id(&headers))
        .await?;
    let rows = state.recordings.recent(&owner).await?;
    Ok(Json(RecordingList {
        recordings: rows.into_iter().map(Into::into).collect(),
    }))
}
