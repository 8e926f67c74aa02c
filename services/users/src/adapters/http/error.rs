//! REST errors in ferrocast's envelope (`{"error": {"code", "message", "fields"?}}`), mapped once
//! from [`AccountError`], plus a last-chance layer that wraps errors produced outside our
//! handlers (413 from the body limit, 408 timeouts, 404/405 from routing) in the same envelope.

use std::collections::BTreeMap;

use axum::{
    body::Body,
    extract::rejection::JsonRejection,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use ferrocast_kit::http::error_body;

use crate::{ports::UniqueField, service::AccountError};

/// What a shed client is told to wait: about how long a queue of a few dozen checks takes to
/// drain on two cores.
const BUSY_RETRY_AFTER_SECONDS: &str = "2";

#[derive(Debug)]
pub enum ApiError {
    Validation(BTreeMap<&'static str, String>),
    Conflict(UniqueField),
    Unauthorized(&'static str),
    NotFound(&'static str),
    BadRequest(&'static str),
    PayloadTooLarge,
    Unavailable(String),
    /// Shed under load: 503 with `Retry-After`.
    Busy,
    /// Over a rate limit: 429 with `Retry-After` in seconds.
    RateLimited(u64),
    Internal(String),
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Validation(fields) => Self::Validation(fields),
            AccountError::Conflict(field) => Self::Conflict(field),
            AccountError::InvalidCredentials => Self::Unauthorized("invalid login or password"),
            AccountError::Unauthenticated => Self::Unauthorized("not logged in"),
            AccountError::NotFound => Self::NotFound("not found"),
            AccountError::Unavailable(reason) => Self::Unavailable(reason),
            AccountError::Busy => Self::Busy,
            AccountError::RateLimited {
                retry_after_seconds,
            } => Self::RateLimited(retry_after_seconds),
            AccountError::Internal(reason) => Self::Internal(reason),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        // The rejection text can quote the body; it is neither logged nor echoed.
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::BadRequest("expected an application/json body")
            }
            _ => Self::BadRequest("the body is not valid JSON for this endpoint"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Validation(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                with_fields("validation", "some fields are invalid", fields),
            ),
            Self::Conflict(field) => {
                let fields = BTreeMap::from([(field.name(), "already taken".to_owned())]);
                let message = format!("{} already taken", field.name());
                (
                    StatusCode::CONFLICT,
                    with_fields("conflict", &message, fields),
                )
            }
            Self::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                error_body("unauthorized", message),
            ),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, error_body("not_found", message)),
            Self::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, error_body("bad_request", message))
            }
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                error_body("payload_too_large", "the request body is too large"),
            ),
            Self::Unavailable(reason) => {
                tracing::warn!(%reason, "answering 503: store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    error_body("unavailable", "the service is temporarily unavailable"),
                )
            }
            Self::Busy => {
                // Logged at debug: under a flood a line per shed request would flood the logs
                // too; the counter users_password_checks_shed_total tells operators.
                tracing::debug!("answering 503: too many password checks at once");
                let body = error_body(
                    "busy",
                    "too many sign-ins at once; please try again in a moment",
                );
                let retry_after = [(header::RETRY_AFTER, BUSY_RETRY_AFTER_SECONDS)];
                return (StatusCode::SERVICE_UNAVAILABLE, retry_after, Json(body)).into_response();
            }
            Self::RateLimited(seconds) => {
                // One body for every limit and every account, known or not: the 429 must not
                // become the oracle the 401 is careful not to be.
                tracing::debug!(seconds, "answering 429: rate limited");
                let body = error_body("rate_limited", "too many attempts; please try again later");
                let retry_after = [(header::RETRY_AFTER, seconds.to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, retry_after, Json(body)).into_response();
            }
            Self::Internal(reason) => {
                tracing::error!(%reason, "answering 500");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    error_body("internal", "internal error"),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

fn with_fields(
    code: &str,
    message: &str,
    fields: BTreeMap<&'static str, String>,
) -> serde_json::Value {
    let mut body = error_body(code, message);
    body["error"]["fields"] = serde_json::json!(fields);
    body
}

/// Gives error responses that did not come from our handlers the JSON envelope.
pub async fn envelope(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::SERVICE_UNAVAILABLE => {
            ("unavailable", "the service is temporarily unavailable")
        }
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "bad request"),
    };
    let (mut parts, _) = response.into_parts();
    let body = error_body(code, message).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_rate_limited_request_is_a_429_that_says_when_to_retry() {
        let response = ApiError::RateLimited(42).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "42");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
    }

    #[tokio::test]
    async fn a_shed_request_is_a_503_busy_that_says_when_to_retry() {
        let response = ApiError::Busy.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).unwrap(),
            BUSY_RETRY_AFTER_SECONDS
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "busy");
    }
}
