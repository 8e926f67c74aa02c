//! The HTTP edge: REST under `/api/media` and `/api/tags`, health and metrics, behind the kit's
//! limits (body size, request timeout, request ids, access tracing with secrets redacted).

mod error;
mod media;
mod openapi;
mod views;

use std::sync::Arc;

use axum::{
    routing::{get, post},
    Router,
};
use ferrocast_kit::{health, http::RequestLimits, metrics};

use crate::service::Catalog;

pub use openapi::ApiDoc;

/// What every handler sees.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
}

pub fn router(state: AppState, request_limits: RequestLimits) -> Router {
    let checks = readiness_checks(&state.catalog);
    let routes = Router::new()
        .route("/api/media", get(media::search).post(media::create))
        .route("/api/media/openapi.json", get(openapi::document))
        .route(
            "/api/media/{id}",
            get(media::get_one)
                .patch(media::update)
                .delete(media::delete),
        )
        .route("/api/media/{id}/parts", post(media::parts))
        .route("/api/media/{id}/finalize", post(media::finalize))
        .route("/api/media/{id}/original", get(media::original))
        .route("/api/media/{id}/vod/{job}/{*file}", get(media::vod_file))
        .route("/api/tags", get(media::tags))
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
