//! Forwarding: `/api/users/*` → users, `/api/rooms/*` and `/api/events` → rooms, and
//! `/hls/{username}/*` → the ingest origin that holds that user's room.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{header, request::Parts, Method};
use http_body_util::LengthLimitError;

use super::{error::GatewayError, AppState};
use crate::{
    adapters::upstream::{Delivery, Outgoing},
    domain::{
        headers::{self, Credentials},
        hls_path::HlsPath,
        route::{api_route, Upstream},
    },
};

/// Proxies an API request to the service that owns its prefix.
pub async fn api(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, GatewayError> {
    let route = api_route(request.uri().path())?;
    let base = match route.upstream {
        Upstream::Users => &state.users_url,
        Upstream::Rooms => &state.rooms_url,
        Upstream::Catalog => &state.catalog_url,
    };
    let (parts, body) = request.into_parts();
    let url = format!("{base}{}", path_and_query(&parts));
    let outgoing = Outgoing {
        method: parts.method.clone(),
        url,
        headers: forwarded_headers(&parts, Credentials::Forward),
        body: read_body(body).await?,
    };
    let delivery = if route.streaming {
        Delivery::Streaming
    } else {
        Delivery::Bounded
    };
    state
        .upstream
        .forward(outgoing, delivery)
        .await
        .map_err(|source| GatewayError::Upstream {
            service: route.upstream.name(),
            source,
        })
}

/// Proxies a playlist or segment request to the origin named by the user's live room.
pub async fn hls(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, GatewayError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Err(GatewayError::MethodNotAllowed);
    }
    let path = HlsPath::parse(request.uri().path())?;
    let origin = state
        .directory
        .origin(path.username())
        .await
        .map_err(GatewayError::DirectoryUnavailable)?
        .ok_or_else(|| GatewayError::NotLive(path.username().to_string()))?;
    let (parts, _) = request.into_parts();
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let outgoing = Outgoing {
        method: parts.method.clone(),
        url: origin.join(&format!("{}{query}", path.upstream_path())),
        headers: forwarded_headers(&parts, Credentials::Strip),
        body: Bytes::new(),
    };
    let mut response = state
        .upstream
        .forward(outgoing, Delivery::Bounded)
        .await
        .map_err(|source| GatewayError::Upstream {
            service: "ingest",
            source,
        })?;
    let status = response.status();
    if !(status.is_success() || status == http::StatusCode::NOT_MODIFIED) {
        // An origin's error body is not passed on: the viewer gets the gateway's own envelope.
        let code = if status == http::StatusCode::NOT_FOUND {
            "not_found"
        } else {
            "upstream_error"
        };
        let body =
            ferrocast_kit::http::error_body(code, "the media origin could not serve this file");
        return Ok((status, axum::Json(body)).into_response());
    }
    let allowed = headers::media_response_headers(response.headers(), path.content_type());
    *response.headers_mut() = allowed;
    Ok(response)
}

fn path_and_query(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str())
}

/// End-to-end headers plus the peer in `X-Forwarded-For`. `Content-Length` is dropped because the
/// body is re-sent whole and the client computes it again.
fn forwarded_headers(parts: &Parts, credentials: Credentials) -> http::HeaderMap {
    let mut out = headers::request_headers(&parts.headers, credentials);
    out.remove(header::CONTENT_LENGTH);
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        headers::append_forwarded_for(&mut out, peer.ip());
    }
    out
}

/// Reads the (already size-limited) request body. API bodies are small JSON, so reading them
/// whole costs little and turns an oversized chunked body into a clean 413.
async fn read_body(body: Body) -> Result<Bytes, GatewayError> {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|error| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
            let mut too_large = false;
            while let Some(current) = cause {
                too_large |= current.is::<LengthLimitError>();
                cause = current.source();
            }
            if too_large {
                GatewayError::PayloadTooLarge
            } else {
                GatewayError::BadBody
            }
        })
}
