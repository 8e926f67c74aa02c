//! The one place use-case errors become HTTP statuses and ferrocast's JSON error envelope.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::service::RoomsError;

pub struct ApiError(pub RoomsError);

impl From<RoomsError> for ApiError {
    fn from(error: RoomsError) -> Self {
        Self(error)
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            RoomsError::BadCallback(_) | RoomsError::UnsupportedCall => StatusCode::BAD_REQUEST,
            RoomsError::UntrustedCaller => StatusCode::UNAUTHORIZED,
            RoomsError::Origin(_) => StatusCode::FORBIDDEN,
            RoomsError::NoOrigin => StatusCode::SERVICE_UNAVAILABLE,
            RoomsError::UnknownKey | RoomsError::RelayRefused => StatusCode::FORBIDDEN,
            RoomsError::Unauthorized => StatusCode::UNAUTHORIZED,
            RoomsError::AlreadyLive | RoomsError::SessionOver => StatusCode::CONFLICT,
            RoomsError::UsersUnavailable | RoomsError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            RoomsError::NotFound => StatusCode::NOT_FOUND,
            RoomsError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        match &self.0 {
            RoomsError::BadCallback(_) | RoomsError::UnsupportedCall => "bad_request",
            RoomsError::UntrustedCaller => "unauthorized",
            RoomsError::Origin(_) => "origin_not_allowed",
            RoomsError::NoOrigin => "unavailable",
            RoomsError::UnknownKey | RoomsError::RelayRefused => "forbidden",
            RoomsError::Unauthorized => "unauthorized",
            RoomsError::AlreadyLive | RoomsError::SessionOver => "conflict",
            RoomsError::UsersUnavailable | RoomsError::Store(_) => "unavailable",
            RoomsError::NotFound => "not_found",
            RoomsError::Validation { .. } => "validation",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self.0 {
            RoomsError::Store(error) => {
                tracing::warn!(%error, "room store failed");
                "rooms are unavailable right now".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = ferrocast_kit::http::error_body(self.code(), &message);
        if let RoomsError::Validation { field, message } = &self.0 {
            body["error"]["fields"] = serde_json::json!({ *field: message });
        }
        (status, Json(body)).into_response()
    }
}
