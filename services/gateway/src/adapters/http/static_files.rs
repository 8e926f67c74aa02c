//! The built frontend (`frontend/dist`): SPA fallback, cache headers, precompressed files.
//!
//! The domain decides which file a path means ([`StaticTarget`]); tower-http's `ServeDir` then
//! does the HTTP work (content types, ranges, conditional requests, `.br`/`.gz` siblings). A file
//! is served only if its real path, symlinks resolved, lies inside the build output.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    body::Body,
    extract::{Request, State},
    response::{IntoResponse, Response},
};
use http::{header, HeaderValue, Method, StatusCode, Uri};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::error::GatewayError;
use crate::domain::static_path::StaticTarget;

pub struct StaticSite {
    root: PathBuf,
    files: ServeDir,
}

impl StaticSite {
    /// Serves `dir`. A missing directory is not fatal (the API still works, pages answer 404), so
    /// it is only reported.
    pub fn new(dir: &Path) -> Self {
        let root = match dir.canonicalize() {
            Ok(root) => root,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "frontend directory unusable; pages will answer 404 (build the frontend or set FERROCAST_FRONTEND_DIR)");
                dir.to_path_buf()
            }
        };
        let files = ServeDir::new(&root)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false);
        Self { root, files }
    }

    /// Whether `file` (relative) resolves to a regular file inside the root.
    async fn contains(&self, file: &str) -> bool {
        let Ok(real) = tokio::fs::canonicalize(self.root.join(file)).await else {
            return false;
        };
        real.starts_with(&self.root) && tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_file())
    }
}

pub async fn serve(State(site): State<Arc<StaticSite>>, request: Request) -> Response {
    match respond(&site, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn respond(site: &StaticSite, request: Request) -> Result<Response, GatewayError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Err(GatewayError::MethodNotAllowed);
    }
    let target = StaticTarget::parse(request.uri().path())?;
    if !site.contains(&target.file).await {
        return Err(GatewayError::NotFound);
    }
    let (mut parts, body) = request.into_parts();
    // The query is dropped: `ServeDir` would ignore it, and the file is already chosen.
    parts.uri = Uri::try_from(format!("/{}", target.file)).map_err(|_| GatewayError::BadPath)?;
    let response = site
        .files
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
        .map_err(|_| GatewayError::NotFound)?;
    let mut response = response.map(Body::new);
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(target.kind.cache_control()),
        );
    }
    Ok(response)
}
