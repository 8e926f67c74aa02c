//! The gateway's errors and their HTTP answers, in ferrocast's JSON error envelope.
//!
//! Codes beyond docs/api.md's list: `bad_request` (400, a path the gateway refuses),
//! `method_not_allowed` (405), `bad_gateway` (502, an upstream unreachable or broken) and
//! `gateway_timeout` (504, an upstream too slow to answer).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use ferrocast_kit::http::error_body;

use crate::{
    adapters::upstream::UpstreamError,
    domain::{hls_path::HlsPathError, route::RouteError},
    ports::DirectoryError,
};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("this path is not allowed")]
    BadPath,
    #[error("not found")]
    NotFound,
    #[error("{0} is not live")]
    NotLive(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the request body could not be read")]
    BadBody,
    #[error("the room directory is unavailable")]
    DirectoryUnavailable(#[source] DirectoryError),
    #[error("the {service} service is unreachable")]
    Upstream {
        service: &'static str,
        #[source]
        source: UpstreamError,
    },
}

impl From<RouteError> for GatewayError {
    fn from(error: RouteError) -> Self {
        match error {
            RouteError::BadPath(_) => Self::BadPath,
            RouteError::NotFound => Self::NotFound,
        }
    }
}

impl From<HlsPathError> for GatewayError {
    fn from(error: HlsPathError) -> Self {
        match error {
            HlsPathError::BadPath(_) => Self::BadPath,
            HlsPathError::NotHls | HlsPathError::BadUsername | HlsPathError::BadFile => {
                Self::NotFound
            }
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::BadPath | Self::BadBody => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound | Self::NotLive(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::DirectoryUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Upstream {
                source: UpstreamError::Timeout,
                ..
            } => (StatusCode::GATEWAY_TIMEOUT, "gateway_timeout"),
            Self::Upstream { .. } => (StatusCode::BAD_GATEWAY, "bad_gateway"),
        };
        if status.is_server_error() {
            tracing::warn!(error = %self, cause = ?std::error::Error::source(&self), "upstream failure");
        }
        (status, Json(error_body(code, &self.to_string()))).into_response()
    }
}

/// Handler for paths that exist for the services only, or not at all.
pub async fn not_found() -> GatewayError {
    GatewayError::NotFound
}
