//! Which upstream owns an API path, and which paths the gateway never forwards.
//!
//! `/internal/*` (room lookups) and `/callbacks/*` (ingest → rooms publish callbacks) are the
//! services' private surface: a browser that reached them could end other people's streams. They
//! are not forwarded, and they never fall back to the SPA either, so a 404 is the only answer.

use super::path::{segments, PathError};

/// The services behind the gateway's API prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Users,
    Rooms,
    Catalog,
}

impl Upstream {
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Rooms => "rooms",
            Self::Catalog => "catalog",
        }
    }
}

/// Where an API request goes and whether its answer is a long-lived stream (SSE), which must be
/// neither buffered nor cut by a response timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    pub upstream: Upstream,
    pub streaming: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    BadPath(#[from] PathError),
    #[error("no such route")]
    NotFound,
}

/// First path segments that belong to the gateway or the services, never to the SPA.
const RESERVED: &[&str] = &[
    "api",
    "hls",
    "internal",
    "callbacks",
    "healthz",
    "readyz",
    "metrics",
];

/// Routes an `/api/...` path to its upstream.
pub fn api_route(path: &str) -> Result<ApiRoute, RouteError> {
    match segments(path)?.as_slice() {
        ["api", "users", ..] => Ok(ApiRoute {
            upstream: Upstream::Users,
            streaming: false,
        }),
        ["api", "events"] => Ok(ApiRoute {
            upstream: Upstream::Rooms,
            streaming: true,
        }),
        ["api", "rooms", ..] => Ok(ApiRoute {
            upstream: Upstream::Rooms,
            streaming: false,
        }),
        ["api", "media", "progress"] | ["api", "playback", "events"] => Ok(ApiRoute {
            upstream: Upstream::Catalog,
            streaming: true,
        }),
        ["api", "playback", ..] => Ok(ApiRoute {
            upstream: Upstream::Catalog,
            streaming: false,
        }),
        ["api", "media", ..] | ["api", "tags"] => Ok(ApiRoute {
            upstream: Upstream::Catalog,
            streaming: false,
        }),
        _ => Err(RouteError::NotFound),
    }
}

/// Whether a path's first segment is reserved (see [`RESERVED`]); such paths never get the SPA.
pub fn is_reserved(first_segment: &str) -> bool {
    RESERVED.contains(&first_segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_prefixes_go_to_their_service() {
        let users = api_route("/api/users/login").map(|r| r.upstream);
        assert_eq!(users, Ok(Upstream::Users));
        assert_eq!(
            api_route("/api/users").map(|r| r.upstream),
            Ok(Upstream::Users)
        );
        let rooms = api_route("/api/rooms/alice/viewers");
        assert_eq!(
            rooms.map(|r| (r.upstream, r.streaming)),
            Ok((Upstream::Rooms, false))
        );
        let events = api_route("/api/events");
        assert_eq!(
            events.map(|r| (r.upstream, r.streaming)),
            Ok((Upstream::Rooms, true))
        );
        for path in [
            "/api/media",
            "/api/media/abc/finalize",
            "/api/tags",
            "/api/playback",
            "/api/playback/abc/heartbeat",
        ] {
            assert_eq!(
                api_route(path).map(|r| (r.upstream, r.streaming)),
                Ok((Upstream::Catalog, false)),
                "{path}"
            );
        }
        let progress = api_route("/api/media/progress");
        assert_eq!(
            progress.map(|r| (r.upstream, r.streaming)),
            Ok((Upstream::Catalog, true)),
            "the catalogue's progress stream"
        );
        let playback = api_route("/api/playback/events");
        assert_eq!(
            playback.map(|r| (r.upstream, r.streaming)),
            Ok((Upstream::Catalog, true)),
            "the account's playback events"
        );
    }

    #[test]
    fn private_and_unknown_paths_are_not_routed() {
        for path in [
            "/internal/rooms/alice",
            "/callbacks/rtmp",
            "/api/internal",
            "/api",
            "/api/events/x",
            "/api/tags/x",
        ] {
            assert_eq!(api_route(path), Err(RouteError::NotFound), "{path}");
        }
    }

    #[test]
    fn traversal_out_of_an_api_prefix_is_a_bad_path() {
        let escaped = api_route("/api/rooms/%2e%2e/%2e%2e/internal/rooms/alice");
        assert_eq!(
            escaped,
            Err(RouteError::BadPath(PathError::EscapedSeparator))
        );
        let plain = api_route("/api/rooms/../../internal/rooms/alice");
        assert_eq!(
            plain,
            Err(RouteError::BadPath(PathError::DotOrEmptySegment))
        );
    }

    #[test]
    fn service_prefixes_are_reserved_from_the_spa() {
        assert!(is_reserved("internal") && is_reserved("callbacks") && is_reserved("api"));
        assert!(!is_reserved("watch") && !is_reserved("dashboard"));
    }
}
