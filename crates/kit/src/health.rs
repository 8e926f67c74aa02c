//! `/healthz` (the process is alive) and `/readyz` (its dependencies answer), the endpoints
//! orchestrators and `./ferrocast up` wait on.

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{http::StatusCode, routing::get, Json, Router};
use serde_json::json;

/// One dependency check: its name and whether it answered.
pub type Check =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Adds `/healthz` and `/readyz`; `/readyz` is 503 with the failing checks named when any fails.
pub fn routes(router: Router, checks: Vec<(&'static str, Check)>) -> Router {
    let checks = Arc::new(checks);
    liveness(router).route(
        "/readyz",
        get(move || {
            let checks = checks.clone();
            async move { readiness(&checks).await }
        }),
    )
}

/// Adds `/healthz` alone: it says nothing but "alive", so it may face the internet, where
/// `/readyz` (whose failures name dependencies and their addresses) must not.
pub fn liveness(router: Router) -> Router {
    router.route(
        "/healthz",
        get(|| async { Json(json!({ "status": "ok" })) }),
    )
}

async fn readiness(checks: &[(&'static str, Check)]) -> (StatusCode, Json<serde_json::Value>) {
    let mut failing = serde_json::Map::new();
    for (name, check) in checks {
        if let Err(reason) = check().await {
            failing.insert((*name).to_owned(), json!(reason));
        }
    }
    if failing.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "failing": failing })),
        )
    }
}

/// Builds a [`Check`] from an async closure.
pub fn check<F, Fut>(f: F) -> Check
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}
