//! The gateway's HTTP surface: which prefix goes to which handler, and the layers every route
//! shares (limits, metrics, security headers). The public router faces the internet; the
//! internal one (readiness and metrics) listens elsewhere, for the orchestrator and Prometheus.

mod error;
mod proxy;
mod security;
mod static_files;

use std::sync::Arc;

use axum::{routing::any, Router};
use ferrocast_kit::{
    client::TrustedProxies,
    health,
    http::{limits, RequestLimits},
    metrics,
};
use tower_http::compression::CompressionLayer;

use crate::{adapters::upstream::UpstreamClient, ports::OriginDirectory};

pub use static_files::StaticSite;

/// Everything the handlers share.
pub struct AppState {
    pub upstream: UpstreamClient,
    pub users_url: String,
    pub rooms_url: String,
    pub catalog_url: String,
    /// The storage origin browsers upload to (the CSP lets pages connect there).
    pub storage_origin: String,
    pub directory: Arc<dyn OriginDirectory>,
}

/// The public router, wrapped in request limits, request metrics and security headers. It has
/// `/healthz` (it says only "alive") but neither `/readyz` nor `/metrics`: those answer a JSON
/// 404 here and live on [`internal_router`].
pub fn router(
    state: Arc<AppState>,
    site: StaticSite,
    proxies: TrustedProxies,
    request_limits: RequestLimits,
) -> Router {
    // An origin is ASCII by construction (config::storage_origin); were it not, pages would get
    // the strictest policy rather than none.
    let csp =
        http::HeaderValue::from_str(&security::content_security_policy(&state.storage_origin))
            .unwrap_or_else(|_| http::HeaderValue::from_static("default-src 'none'"));
    // Only the frontend is compressed here: upstreams compress their own answers, and SSE must
    // never sit in an encoder's buffer.
    let frontend = Router::new()
        .fallback(static_files::serve)
        .with_state(Arc::new(site))
        .layer(CompressionLayer::new());

    let routes = Router::new()
        .route("/api/users", any(proxy::api))
        .route("/api/users/{*rest}", any(proxy::api))
        .route("/api/rooms", any(proxy::api))
        .route("/api/rooms/{*rest}", any(proxy::api))
        .route("/api/events", any(proxy::api))
        .route("/api/media", any(proxy::api))
        .route("/api/media/{*rest}", any(proxy::api))
        .route("/api/tags", any(proxy::api))
        .route("/api/playback", any(proxy::api))
        .route("/api/playback/{*rest}", any(proxy::api))
        .route("/hls/{*rest}", any(proxy::hls))
        .route("/hls", any(error::not_found))
        .with_state(state);
    // The services' private prefixes, unknown API paths and the operations endpoints served on
    // the internal listener answer a JSON 404, never the SPA.
    let hidden = ["/api", "/internal", "/callbacks", "/metrics", "/readyz"]
        .into_iter()
        .fold(routes, |router, prefix| {
            router
                .route(prefix, any(error::not_found))
                .route(&format!("{prefix}/{{*rest}}"), any(error::not_found))
        })
        .fallback_service(frontend);

    let observed = metrics::count_requests(health::liveness(hidden));
    security::headers(limits(observed, request_limits), proxies, csp)
}

/// The internal listener's router: `/healthz`, `/readyz` (failures name the upstream and why)
/// and `/metrics`.
pub fn internal_router(
    checks: Vec<(&'static str, health::Check)>,
    request_limits: RequestLimits,
) -> Router {
    limits(
        metrics::routes(health::routes(Router::new(), checks)),
        request_limits,
    )
}
