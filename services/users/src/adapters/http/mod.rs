//! The public REST edge: routes, the OpenAPI document, health, metrics, and the kit's limits
//! (request ids, 64 KiB body limit, timeouts) with every error in the JSON envelope.

mod auth;
mod client;
mod error;
mod openapi;
mod routes;

use std::sync::Arc;

use axum::{middleware, routing::get, routing::post, Json, Router};
use ferrocast_kit::{
    client::TrustedProxies,
    health,
    http::{limits, RequestLimits},
    metrics,
};
use utoipa::OpenApi;

use crate::service::Accounts;

pub use auth::SESSION_COOKIE;
pub use openapi::ApiDoc;

#[derive(Clone)]
pub struct AppState {
    pub accounts: Arc<Accounts>,
    pub cookie_secure: bool,
    /// Proxies whose `X-Forwarded-For` names the client (rate limits key on the client).
    pub trusted_proxies: TrustedProxies,
}

pub fn router(state: AppState) -> Router {
    let document = Arc::new(ApiDoc::openapi());
    let accounts = state.accounts.clone();
    let api = Router::new()
        .route("/api/users", post(routes::signup))
        .route("/api/users/login", post(routes::login))
        .route("/api/users/logout", post(routes::logout))
        .route("/api/users/me", get(routes::me))
        .route("/api/users/profiles/{username}", get(routes::profile))
        .route(
            "/api/users/me/stream-key",
            post(routes::rotate_stream_key).get(routes::stream_key_info),
        )
        .route(
            "/api/users/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .fallback(routes::not_found)
        .with_state(state);
    let store_check = health::check(move || {
        let accounts = accounts.clone();
        async move { accounts.ping_store().await.map_err(|e| e.to_string()) }
    });
    let api = health::routes(api, vec![("store", store_check)]);
    let api = metrics::instrument(api);
    limits(api, RequestLimits::default()).layer(middleware::map_response(error::envelope))
}
