//! The HLS origin's hot path, in front of the router: a whole-file `GET`/`HEAD` of a live file
//! that is in memory is answered here, straight from the hyper request, without the axum
//! router, its extractors and its middleware (which cost more than the answer itself: bench
//! section 5). Everything else — ranges, files too big to cache, errors, preflights, health and
//! metrics — goes to the router, which answers exactly as before.

use std::{convert::Infallible, net::SocketAddr, sync::OnceLock};

use axum::{
    extract::ConnectInfo,
    http::{header, HeaderValue, Method, Request},
    response::Response,
    Router,
};
use metrics::Counter;
use tower::ServiceExt;

use super::{
    files::{CachedFile, Lookup},
    names::{is_rendition, FileKind},
    routes::{from_memory, locate, Located, Origin},
};

/// The name every rendition's media playlist has.
const MEDIA_PLAYLIST: &str = "index.m3u8";

/// Answers one request of a connection from `peer`.
pub async fn respond<B>(
    origin: &Origin,
    router: &Router,
    peer: SocketAddr,
    request: Request<B>,
) -> Result<Response, Infallible>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    if let Some(response) = from_cache(origin, &request).await {
        return Ok(response);
    }
    let mut request = request.map(axum::body::Body::new);
    request.extensions_mut().insert(ConnectInfo(peer));
    router.clone().oneshot(request).await
}

/// The response when the request is a plain read of a cached live file; `None` otherwise.
async fn from_cache<B>(origin: &Origin, request: &Request<B>) -> Option<Response> {
    if !matches!(*request.method(), Method::GET | Method::HEAD)
        || request.headers().contains_key(header::RANGE)
    {
        return None;
    }
    let (username, rendition, file) = split(request.uri().path())?;
    let (cached, kind) = match published(origin, username, rendition, file) {
        Some(cached) => (cached, FileKind::Playlist),
        None => {
            let Located::File(path, kind) = locate(origin, username, rendition, file) else {
                return None;
            };
            let Lookup::Found(cached) = origin.files.get(&path).await else {
                return None;
            };
            (cached, kind)
        }
    };
    let mut response = from_memory(&cached, kind, request.headers());
    counter(kind, response.status().is_success()).increment(1);
    // What the router's CORS layer adds to a simple request: nothing here is credentialed.
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        HeaderValue::from_static(
            "origin, access-control-request-method, access-control-request-headers",
        ),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("content-length,content-range"),
    );
    Some(response)
}

/// A media playlist the ingest wrote itself: one registry lookup, no path, no disk.
fn published(
    origin: &Origin,
    username: &str,
    rendition: Option<&str>,
    file: &str,
) -> Option<CachedFile> {
    let rendition = rendition.filter(|r| file == MEDIA_PLAYLIST && is_rendition(r))?;
    origin.registry.live_playlist(username, rendition)
}

/// The `hls_requests_total` counter of what this path answers (2xx or 304), looked up once:
/// the registry lookup with its label hashing cost more than the increment.
fn counter(kind: FileKind, success: bool) -> &'static Counter {
    static COUNTERS: OnceLock<[[Counter; 2]; 3]> = OnceLock::new();
    let table = COUNTERS.get_or_init(|| {
        [FileKind::Playlist, FileKind::TransportStream, FileKind::Mp4].map(|kind| {
            ["2xx", "3xx"].map(|status| {
                metrics::counter!("hls_requests_total", "kind" => kind.label(), "status" => status)
            })
        })
    });
    let row = match kind {
        FileKind::Playlist => 0,
        FileKind::TransportStream => 1,
        FileKind::Mp4 => 2,
    };
    &table[row][usize::from(!success)]
}

/// `/hls/{username}/master.m3u8` or `/hls/{username}/{rendition}/{file}` into its parts.
fn split(path: &str) -> Option<(&str, Option<&str>, &str)> {
    let mut parts = path.strip_prefix("/hls/")?.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(username), Some(file), None, None) => Some((username, None, file)),
        (Some(username), Some(rendition), Some(file), None) => {
            Some((username, Some(rendition), file))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_two_shapes_of_hls_path_and_nothing_else() {
        assert_eq!(
            split("/hls/alice/master.m3u8"),
            Some(("alice", None, "master.m3u8"))
        );
        assert_eq!(
            split("/hls/alice/720p/a_00001.ts"),
            Some(("alice", Some("720p"), "a_00001.ts"))
        );
        for other in [
            "/hls/alice",
            "/hls/a/b/c/d",
            "/healthz",
            "/hls//x",
            "hls/a/b",
        ] {
            let parts = split(other);
            assert!(
                parts.is_none() || parts.is_some_and(|(user, _, _)| user.is_empty()),
                "{other}"
            );
        }
    }
}
