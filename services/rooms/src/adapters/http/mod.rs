//! The HTTP edge: REST under `/api/rooms`, SSE at `/api/events`, the gateway's internal lookup,
//! the nginx-rtmp callback, health and metrics — all behind the kit's limits (body size, request
//! timeout, request ids, access tracing with secrets redacted).

mod callbacks;
mod error;
mod events;
mod openapi;
mod rooms;

use std::sync::Arc;

use axum::{
    routing::{get, post},
    Router,
};
use ferrocast_kit::{client::TrustedProxies, health, http::RequestLimits, metrics};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::{domain::RoomEvent, service::Rooms};

pub use openapi::ApiDoc;

/// What every handler sees.
#[derive(Clone)]
pub struct AppState {
    pub rooms: Arc<Rooms>,
    /// This replica's copy of the shared live-event stream.
    pub events: broadcast::Sender<RoomEvent>,
    /// Presented by our ingest on callbacks (`x-service-token`), never logged.
    pub service_token: Arc<str>,
    /// Proxies (the gateway) whose `X-Forwarded-For` names the client a viewer cap applies to.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Ends open SSE streams so shutdown does not wait for them.
    pub shutdown: CancellationToken,
}

pub fn router(state: AppState, request_limits: RequestLimits) -> Router {
    let checks = readiness_checks(&state.rooms);
    let routes = Router::new()
        .route("/api/rooms", get(rooms::list))
        .route("/api/rooms/openapi.json", get(openapi::document))
        .route(
            "/api/rooms/me/title",
            get(rooms::get_title).put(rooms::set_title),
        )
        .route("/api/rooms/{username}", get(rooms::get_one))
        .route("/api/rooms/{username}/viewers", post(rooms::heartbeat))
        .route("/api/events", get(events::stream))
        .route("/callbacks/rtmp", post(callbacks::rtmp))
        .merge(internal_routes(state.clone()))
        .with_state(state);
    let routes = health::routes(routes, checks);
    ferrocast_kit::http::limits(metrics::instrument(routes), request_limits)
}

/// `/internal/*`: for other ferrocast services only. Every route here wants the service token;
/// without it the answer is 401 before any handler runs.
fn internal_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/internal/rooms/{username}", get(rooms::internal))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            require_service_token,
        ))
}

async fn require_service_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if ferrocast_kit::http::presents_service_token(request.headers(), &state.service_token) {
        next.run(request).await
    } else {
        error::ApiError(crate::service::RoomsError::UntrustedCaller).into_response()
    }
}

fn readiness_checks(rooms: &Arc<Rooms>) -> Vec<(&'static str, health::Check)> {
    let store = rooms.store().clone();
    let auth = rooms.auth().clone();
    vec![
        (
            "redis",
            health::check(move || {
                let store = store.clone();
                async move { store.ping().await.map_err(|e| e.to_string()) }
            }),
        ),
        (
            "users",
            health::check(move || {
                let auth = auth.clone();
                async move { auth.ping().await.map_err(|e| e.to_string()) }
            }),
        ),
    ]
}

/// The caller's request id (set or propagated by the kit), for the users gRPC metadata.
fn request_id(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(ferrocast_kit::http::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
}
