//! The HLS origin's hot path, in front of the router: a whole-file `GET`/`HEAD` of a live file
//! that is in memory is answered here, straight from the hyper request, without the axum
//! router, its extractors and its middleware (which cost more than the answer itself: bench
//! section 5). Everything else — ranges, files too big to cache, errors, preflights, health and
//! metrics — goes to the router, which answers exactly as before.

use std::{convert::Infallible, net::SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{header, HeaderValue, Method, Request},
    response::Response,
    Router,
};
use tower::ServiceExt;

use super::{
    files::Lookup,
    routes::{count, from_memory, locate, Located, Origin},
};

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
    let Located::File(path, kind) = locate(origin, username, rendition, file) else {
        return None;
    };
    let Lookup::Found(cached) = origin.files.get(&path).await else {
        return None;
    };
    let mut response = from_memory(&cached, kind, request.headers());
    let status = if response.status().is_success() {
        "2xx"
    } else {
        "3xx"
    };
    count(kind.label(), status);
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
