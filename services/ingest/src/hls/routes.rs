//! `GET|HEAD /hls/{username}/master.m3u8` and `/hls/{username}/{rendition}/{file}`.
//!
//! Files come from the user's current session folder through tower-http's `ServeFile`, which
//! streams from disk in chunks (a slow viewer only holds its own connection, never a lock the
//! publisher or other viewers need), answers HEAD, ranges and conditional requests. We set the
//! content type, caching and CORS that HLS players need.

use std::path::PathBuf;

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use tower::ServiceExt;
use tower_http::{
    cors::{Any, CorsLayer},
    services::ServeFile,
};

use super::{
    names::{is_rendition, is_username, FileKind},
    HlsRegistry,
};

/// The origin router; mount it at the root of the ingest's HTTP server.
pub fn routes(registry: HlsRegistry) -> Router {
    Router::new()
        .route("/hls/{username}/master.m3u8", get(master))
        .route("/hls/{username}/{rendition}/{file}", get(variant_file))
        .layer(
            // Players on the site's origin or embeds elsewhere; nothing here is credentialed.
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers([header::RANGE])
                .expose_headers([header::CONTENT_LENGTH, header::CONTENT_RANGE]),
        )
        .with_state(registry)
}

async fn master(
    State(registry): State<HlsRegistry>,
    Path(username): Path<String>,
    request: Request,
) -> Response {
    serve(&registry, &username, None, "master.m3u8", request).await
}

async fn variant_file(
    State(registry): State<HlsRegistry>,
    Path((username, rendition, file)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    serve(&registry, &username, Some(&rendition), &file, request).await
}

async fn serve(
    registry: &HlsRegistry,
    username: &str,
    rendition: Option<&str>,
    file: &str,
    request: Request,
) -> Response {
    let kind = FileKind::of(file);
    let (true, true, Some(kind)) = (
        is_username(username),
        rendition.is_none_or(is_rendition),
        kind,
    ) else {
        return error(StatusCode::BAD_REQUEST, "bad_path", "not an HLS path");
    };
    let Some(dir) = registry.session_dir(username) else {
        return error(StatusCode::NOT_FOUND, "offline", "no stream for this user");
    };
    let path: PathBuf = match rendition {
        Some(rendition) => dir.join(rendition).join(file),
        None => dir.join(file),
    };
    let mut response = match ServeFile::new(path).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(kind.content_type()),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(kind.cache_control()),
        );
    } else if response.status() == StatusCode::NOT_FOUND {
        return error(StatusCode::NOT_FOUND, "not_found", "no such file");
    }
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-cache")],
        Json(ferrocast_kit::http::error_body(code, message)),
    )
        .into_response()
}
