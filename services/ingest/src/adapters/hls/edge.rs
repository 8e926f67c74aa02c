//! The HLS origin's hot path, in front of the router: a whole-file `GET`/`HEAD` of a live file
//! that is in memory is answered here, straight from the hyper request, without the axum
//! router, its extractors and its middleware (which cost more than the answer itself, so the
//! origin lagged nginx serving the same files). Media playlists and segments the ingest writes
//! itself come from the registry, including blocking reloads (`_HLS_msn`, [`super::live`]).
//! Everything else — ranges, files too big to cache, errors, preflights, health and metrics —
//! goes to the router, which answers exactly as before.

use std::{convert::Infallible, net::SocketAddr, sync::OnceLock};

use axum::{
    extract::ConnectInfo,
    http::{header, HeaderValue, Method, Request, StatusCode},
    response::Response,
    Router,
};
use metrics::Counter;
use tower::ServiceExt;

use super::{
    files::{CachedFile, Lookup},
    is_rendition,
    live::{self, LiveMedia, Reload},
    routes::{count, error, from_memory, locate, Located, Origin},
    FileKind,
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
    let mut response =
        match published(origin, username, rendition, file, request.uri().query()).await {
            Published::File(cached, kind) => answer(&cached, kind, request),
            Published::Refused(response) => {
                count(FileKind::Playlist.label(), status_class(&response));
                response
            }
            Published::No => {
                let Located::File(path, kind) = locate(origin, username, rendition, file) else {
                    return None;
                };
                let Lookup::Found(cached) = origin.files.get(&path).await else {
                    return None;
                };
                answer(&cached, kind, request)
            }
        };
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

fn answer<B>(cached: &CachedFile, kind: FileKind, request: &Request<B>) -> Response {
    let response = from_memory(cached, kind, request.headers());
    counter(kind, response.status().is_success()).increment(1);
    response
}

enum Published {
    File(CachedFile, FileKind),
    /// A blocking reload that cannot be answered with a playlist.
    Refused(Response),
    /// Not a playlist the ingest publishes: the cache and the disk answer.
    No,
}

/// A media playlist, segment or part the ingest wrote itself: one registry lookup, no path, no
/// disk (after a segment's first read). With `_HLS_msn=N` a playlist request waits until segment
/// N is listed, with `_HLS_part=M` as well until part M of it is (blocking playlist reload); a
/// request for the part the playlist hints at waits until that part exists.
async fn published(
    origin: &Origin,
    username: &str,
    rendition: Option<&str>,
    file: &str,
    query: Option<&str>,
) -> Published {
    let Some(rendition) = rendition.filter(|r| is_rendition(r)) else {
        return Published::No;
    };
    if file != MEDIA_PLAYLIST {
        return published_segment(origin, username, rendition, file).await;
    }
    let (sequence, part) = match requested_sequence(query) {
        Ok(Some(requested)) => requested,
        Ok(None) => {
            return origin
                .registry
                .live_playlist(username, rendition)
                .map_or(Published::No, |file| {
                    Published::File(file, FileKind::Playlist)
                })
        }
        Err(()) => {
            return Published::Refused(error(
                StatusCode::BAD_REQUEST,
                "bad_directive",
                "_HLS_msn must be a media sequence number, _HLS_part a part index",
            ))
        }
    };
    match live::reload(&origin.registry, username, rendition, sequence, part).await {
        Reload::Ready(file) => Published::File(file, FileKind::Playlist),
        Reload::NotPublished => Published::No,
        Reload::TooFarAhead => Published::Refused(error(
            StatusCode::BAD_REQUEST,
            "msn_too_far_ahead",
            "_HLS_msn is more than two segments ahead of the playlist",
        )),
        Reload::TimedOut => Published::Refused(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "segment_not_ready",
            "the segment was not listed within three target durations",
        )),
    }
}

async fn published_segment(
    origin: &Origin,
    username: &str,
    rendition: &str,
    file: &str,
) -> Published {
    let (Some(media), Some(kind)) = (
        origin.registry.live_media(username, rendition, file),
        FileKind::of(file),
    ) else {
        return Published::No;
    };
    let contents = match media {
        LiveMedia::Part(part) => part.contents(&origin.files).await,
        // Answered once it exists.
        LiveMedia::Hinted => {
            match live::preloaded_part(&origin.registry, username, rendition, file).await {
                Some(part) => part.contents(&origin.files).await,
                None => None,
            }
        }
        LiveMedia::Segment(segment) => segment.contents(&origin.files).await,
    };
    match contents {
        Some(cached) => Published::File(cached, kind),
        None => Published::No,
    }
}

/// The `_HLS_msn` delivery directive of the query, if any, with `_HLS_part` if given (which
/// alone, without `_HLS_msn`, is malformed: RFC 8216bis 6.2.5.2).
fn requested_sequence(query: Option<&str>) -> Result<Option<(u64, Option<u32>)>, ()> {
    let directive = |name: &str| {
        query
            .into_iter()
            .flat_map(|query| query.split('&'))
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let part = directive("_HLS_part")
        .map(|value| value.parse::<u32>().map_err(|_| ()))
        .transpose()?;
    match directive("_HLS_msn") {
        Some(value) => value
            .parse()
            .map(|sequence| Some((sequence, part)))
            .map_err(|_| ()),
        None if part.is_some() => Err(()),
        None => Ok(None),
    }
}

fn status_class(response: &Response) -> &'static str {
    if response.status().is_client_error() {
        "4xx"
    } else {
        "5xx"
    }
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
    fn reads_the_msn_directive_and_refuses_a_malformed_one() {
        assert_eq!(requested_sequence(None), Ok(None));
        assert_eq!(requested_sequence(Some("a=1")), Ok(None));
        assert_eq!(
            requested_sequence(Some("_HLS_msn=42")),
            Ok(Some((42, None)))
        );
        assert_eq!(
            requested_sequence(Some("_HLS_part=0&_HLS_msn=7")),
            Ok(Some((7, Some(0))))
        );
        assert_eq!(requested_sequence(Some("_HLS_msn=-1")), Err(()));
        assert_eq!(requested_sequence(Some("_HLS_msn=")), Err(()));
        assert_eq!(requested_sequence(Some("_HLS_part=1")), Err(()));
        assert_eq!(requested_sequence(Some("_HLS_msn=3&_HLS_part=x")), Err(()));
        assert_eq!(requested_sequence(Some("_HLS_msnx=3")), Ok(None));
    }

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
