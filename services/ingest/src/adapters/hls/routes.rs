//! `GET|HEAD /hls/{username}/master.m3u8` and `/hls/{username}/{rendition}/{file}`.
//!
//! Files come from the user's current session folder. Whole-file GETs and HEADs, which is what
//! players send, are answered from [`FileCache`] (the live window in memory, revalidated against
//! the disk on every request); range requests and files too big to cache go through tower-http's
//! `ServeFile`, which streams from disk in chunks. Either way a slow viewer only holds its own
//! connection, never a lock the publisher or other viewers need. We set the content type,
//! caching and CORS that HLS players need.

use std::path::PathBuf;

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
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
    files::{CachedFile, FileCache, Lookup},
    is_rendition, is_username, FileKind, HlsRegistry,
};

/// What every HLS request reads: who is live where, and the live window in memory.
#[derive(Clone)]
pub struct Origin {
    pub(super) registry: HlsRegistry,
    pub(super) files: FileCache,
}

impl Origin {
    pub fn new(registry: HlsRegistry, files: FileCache) -> Self {
        Self { registry, files }
    }
}

/// The origin router; mount it at the root of the ingest's HTTP server. [`super::edge`] answers
/// the common case before it.
pub fn routes(origin: Origin) -> Router {
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
        .with_state(origin)
}

async fn master(
    State(origin): State<Origin>,
    Path(username): Path<String>,
    request: Request,
) -> Response {
    serve(&origin, &username, None, "master.m3u8", request).await
}

async fn variant_file(
    State(origin): State<Origin>,
    Path((username, rendition, file)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    serve(&origin, &username, Some(&rendition), &file, request).await
}

async fn serve(
    origin: &Origin,
    username: &str,
    rendition: Option<&str>,
    file: &str,
    request: Request,
) -> Response {
    let kind = FileKind::of(file);
    let response = answer(origin, username, rendition, file, request).await;
    let status = match response.status().as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    count(kind.map_or("other", FileKind::label), status);
    response
}

pub(super) fn count(kind: &'static str, status: &'static str) {
    metrics::counter!("hls_requests_total", "kind" => kind, "status" => status).increment(1);
}

async fn answer(
    origin: &Origin,
    username: &str,
    rendition: Option<&str>,
    file: &str,
    request: Request,
) -> Response {
    let (path, kind) = match locate(origin, username, rendition, file) {
        Located::File(path, kind) => (path, kind),
        Located::BadPath => return error(StatusCode::BAD_REQUEST, "bad_path", "not an HLS path"),
        Located::Offline => {
            return error(StatusCode::NOT_FOUND, "offline", "no stream for this user")
        }
    };
    if !request.headers().contains_key(header::RANGE) {
        match origin.files.get(&path).await {
            Lookup::Found(file) => return from_memory(&file, kind, request.headers()),
            Lookup::NotFound => return error(StatusCode::NOT_FOUND, "not_found", "no such file"),
            Lookup::TooLarge => {}
            Lookup::Failed(failure) => {
                tracing::warn!(path = %path.display(), error = %failure, "reading an HLS file failed");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "read_failed",
                    "could not read the file",
                );
            }
        }
    }
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

/// Where a requested file is, checked against the path allowlist (no traversal, no odd names).
pub(super) enum Located {
    File(PathBuf, FileKind),
    BadPath,
    /// No session of this user is being served.
    Offline,
}

pub(super) fn locate(
    origin: &Origin,
    username: &str,
    rendition: Option<&str>,
    file: &str,
) -> Located {
    let (true, true, Some(kind)) = (
        is_username(username),
        rendition.is_none_or(is_rendition),
        FileKind::of(file),
    ) else {
        return Located::BadPath;
    };
    let Some(dir) = origin.registry.session_dir(username) else {
        return Located::Offline;
    };
    let path = match rendition {
        Some(rendition) => dir.join(rendition).join(file),
        None => dir.join(file),
    };
    Located::File(path, kind)
}

pub(super) fn from_memory(file: &CachedFile, kind: FileKind, request: &HeaderMap) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(kind.content_type()),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(kind.cache_control()),
        ),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::ETAG, file.etag.clone()),
    ];
    let unchanged = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim().as_bytes() == file.etag.as_bytes() || tag.trim() == "*");
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    // HEAD: hyper sends the headers, including the length, without the body.
    (headers, Body::from(file.bytes.clone())).into_response()
}

pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-cache")],
        Json(ferrocast_kit::http::error_body(code, message)),
    )
        .into_response()
}
