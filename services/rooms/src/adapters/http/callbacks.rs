//! `POST /callbacks/rtmp`: nginx-rtmp's notify requests (and our ingest's, same format).
//!
//! The body carries the stream key in `name`: it is never logged, and the access log line only
//! has the call, the application and the outcome. 2xx allows, 3xx (nginx-rtmp mode) redirects
//! the stream, anything else refuses.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use ferrocast_kit::http::presents_service_token;

use super::{error::ApiError, request_id, AppState};
use crate::{
    domain::{Call, CallbackForm},
    service::{CallbackReply, Caller, RoomsError},
};

pub async fn rtmp(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match CallbackForm::parse(&body) {
        Ok(form) => form,
        Err(error) => return finish("invalid", "-", Err(RoomsError::from(error))),
    };
    let call = match form.call() {
        Ok(Call::Publish) => "publish",
        Ok(Call::Update) => "update",
        Ok(Call::PublishDone) => "publish_done",
        Ok(Call::Other) => "other",
        Err(_) => "invalid",
    };
    let caller = Caller {
        trusted: presents_service_token(&headers, &state.service_token),
        request_id: request_id(&headers),
    };
    let result = state.rooms.callback(&form, caller).await;
    finish(call, form.app(), result)
}

fn finish(call: &'static str, app: &str, result: Result<CallbackReply, RoomsError>) -> Response {
    let deferred = matches!(result, Ok(CallbackReply::Deferred));
    let response = match result {
        Ok(CallbackReply::Allowed) => (StatusCode::OK, Json(serde_json::json!({}))).into_response(),
        Ok(CallbackReply::Deferred) => (
            StatusCode::OK,
            Json(serde_json::json!({ "deferred": true })),
        )
            .into_response(),
        Ok(CallbackReply::Published {
            user_id,
            username,
            session_id,
        }) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "user_id": user_id,
                "username": username,
                "session_id": session_id,
            })),
        )
            .into_response(),
        Ok(CallbackReply::Redirect(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Err(error) => ApiError(error).into_response(),
    };
    let status = response.status();
    let outcome = match status.as_u16() {
        _ if deferred => "deferred",
        200..=299 => "allowed",
        300..=399 => "redirected",
        401 | 403 => "refused",
        409 => "conflict",
        503 => "unavailable",
        _ => "invalid",
    };
    metrics::counter!("rooms_callbacks_total", "call" => call, "result" => outcome).increment(1);
    tracing::info!(call, app, status = status.as_u16(), outcome, "callback");
    response
}
