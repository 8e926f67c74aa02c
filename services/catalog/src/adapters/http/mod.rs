//! The HTTP edge: REST under `/api/media` and `/api/tags`, processing progress as SSE at
//! `/api/media/progress`, health and metrics, behind the kit's limits (body size, request
//! timeout, request ids, access tracing with secrets redacted).

mod error;
mod keys;
mod media;
mod openapi;
pub mod playback;
pub mod progress;
pub mod recordings;
mod streams;
mod views;

use std::sync::Arc;

use axum::{
    routing::{delete, get, post},
    Router,
};
use ferrocast_kit::{health, http::RequestLimits, metrics};

use crate::service::Catalog;

pub use openapi::ApiDoc;

/// What every handler sees.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub progress: progress::Streams,
    pub playback: playback::Events,
}

/// The header a player sends its playback session's token in (never a URL).
pub const PLAYBACK_TOKEN: &str = "x-playback-token";

/// The playback session token a request carries, if any.
fn playback_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(PLAYBACK_TOKEN).and_then(|v| v.to_str().ok())
}

pub fn router(state: AppState, request_limits: RequestLimits) -> Router {
    let checks = readiness_checks(&state.catalog);
    let routes = Router::new()
        .route("/api/media", get(media::search).post(media::create))
        .route("/api/media/openapi.json", get(openapi::document))
        .route("/api/media/progress", get(progress::stream))
        .route(
            "/api/media/settings",
            get(keys::settings).put(keys::save_settings),
        )
        .route(
            "/api/media/{id}",
            get(media::get_one)
                .patch(media::update)
                .delete(media::delete),
        )
        .route("/api/media/{id}/parts", post(media::parts))
        .route("/api/media/{id}/finalize", post(media::finalize))
        .route("/api/media/{id}/original", get(media::original))
        .route("/api/media/{id}/licence", post(keys::licence))
        .route("/api/media/{id}/vod/{job}/{*file}", get(media::vod_file))
        .route("/api/tags", get(media::tags))
        .route("/api/playback", get(playback::list).post(playback::ask))
        .route("/api/playback/events", get(playback::events))
        .route("/api/playback/{id}", delete(playback::end))
        .route("/api/playback/{id}/heartbeat", post(playback::heartbeat))
        .route("/api/playback/{id}/stop", post(playback::stop))
        .with_state(state);
    let routes = health::routes(routes, checks);
    ferrocast_kit::http::limits(metrics::instrument(routes), request_limits)
}

fn readiness_checks(catalog: &Arc<Catalog>) -> Vec<(&'static str, health::Check)> {
    let store = catalog.store().clone();
    let objects = catalog.objects().clone();
    let auth = catalog.auth().clone();
    vec![
        (
            "postgres",
            health::check(move || {
                let store = store.clone();
                async move { store.ping().await.map_err(|e| e.to_string()) }
            }),
        ),
        (
            "object_storage",
            health::check(move || {
                let objects = objects.clone();
                async move { objects.ping().await.map_err(|e| e.to_string()) }
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
