//! Encrypted videos over HTTP: the ClearKey licence and the owner's settings (encryption of new
//! uploads, keeping past broadcasts).

use axum::{
    body::Bytes,
    extract::{rejection::JsonRejection, Path, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
    Json,
};

use super::{
    error::ApiError,
    media::{body, caller, media_id},
    playback_token, AppState,
};
use crate::domain::{OwnerSettings, SettingsChange};

/// The W3C EME ClearKey licence for an encrypted video: its key for the key ids asked for, to a
/// viewer with a live playback session of it (`X-Playback-Token`). Never cached.
#[utoipa::path(post, path = "/api/media/{id}/licence",
    request_body(content = String, description = "`{\"kids\": [base64url key ids]}`", content_type = "application/json"),
    responses((status = 200, description = "`{\"keys\": [{\"kty\": \"oct\", \"kid\": …, \"k\": …}], \"type\": \"temporary\"}`"),
        (status = 401, description = "not signed in"), (status = 403, description = "no live playback session of this video (`no_session`)"),
        (status = 404, description = "no such video"), (status = 409, description = "the video is not encrypted"),
        (status = 422, description = "not a licence request, or not this video's key id")))]
pub async fn licence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let caller = caller(&state, &headers).await?;
    let session = playback_token(&headers);
    let licence = state
        .catalog
        .licence(&caller, media_id(&id)?, &request, session)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        licence,
    )
        .into_response())
}

/// What the signed-in owner chose for their next uploads.
#[utoipa::path(get, path = "/api/media/settings",
    responses((status = 200, body = OwnerSettings), (status = 401, description = "not signed in")))]
pub async fn settings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<OwnerSettings>, ApiError> {
    let caller = caller(&state, &headers).await?;
    Ok(Json(state.catalog.owner_settings(&caller).await?))
}

/// Changes the signed-in owner's settings; a field left out keeps its value.
#[utoipa::path(put, path = "/api/media/settings", request_body = SettingsChange,
    responses((status = 200, body = OwnerSettings), (status = 401, description = "not signed in"),
        (status = 503, description = "encryption asked for, and this server has no platform key")))]
pub async fn save_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<SettingsChange>, JsonRejection>,
) -> Result<Json<OwnerSettings>, ApiError> {
    let caller = caller(&state, &headers).await?;
    let settings = body(request)?;
    Ok(Json(
        state.catalog.save_owner_settings(&caller, settings).await?,
    ))
}
