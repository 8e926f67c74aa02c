//! The one place use-case errors become HTTP statuses and ferrocast's JSON error envelope.

use axum::{
    extract::rejection::JsonRejection,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::service::CatalogError;

pub struct ApiError(pub CatalogError);

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        Self(error)
    }
}

/// A body that is not the JSON the route takes.
pub fn invalid_body(rejection: JsonRejection) -> ApiError {
    ApiError(CatalogError::Validation {
        field: "body",
        message: rejection.body_text(),
    })
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            CatalogError::Unauthorized => StatusCode::UNAUTHORIZED,
            CatalogError::NotFound => StatusCode::NOT_FOUND,
            CatalogError::Forbidden | CatalogError::NoSession => StatusCode::FORBIDDEN,
            CatalogError::Validation { .. } | CatalogError::UploadRefused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            CatalogError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CatalogError::TooLarge(_) | CatalogError::QuotaExceeded { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            CatalogError::NotUploaded | CatalogError::Conflict(_) => StatusCode::CONFLICT,
            CatalogError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            CatalogError::SessionEnded => StatusCode::GONE,
            CatalogError::Busy
            | CatalogError::EncryptionUnavailable
            | CatalogError::Sessions(_)
            | CatalogError::UsersUnavailable
            | CatalogError::Store(_)
            | CatalogError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match &self.0 {
            CatalogError::Unauthorized => "unauthorized",
            CatalogError::NotFound => "not_found",
            CatalogError::Forbidden => "forbidden",
            CatalogError::NoSession => "no_session",
            CatalogError::Validation { .. } => "validation",
            CatalogError::UploadRefused(_) => "upload_refused",
            CatalogError::UnsupportedType(_) => "unsupported_type",
            CatalogError::TooLarge(_) => "too_large",
            CatalogError::QuotaExceeded { .. } => "quota_exceeded",
            CatalogError::NotUploaded => "not_uploaded",
            CatalogError::Conflict(_) => "conflict",
            CatalogError::Busy => "busy",
            CatalogError::EncryptionUnavailable => "encryption_unavailable",
            CatalogError::RateLimited => "rate_limited",
            CatalogError::SessionEnded => "session_ended",
            CatalogError::UsersUnavailable
            | CatalogError::Store(_)
            | CatalogError::Storage(_)
            | CatalogError::Sessions(_) => "unavailable",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self.0 {
            CatalogError::Store(error)
            | CatalogError::Storage(error)
            | CatalogError::Sessions(error) => {
                tracing::warn!(%error, "catalog dependency failed");
                "the catalogue is unavailable right now".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = ferrocast_kit::http::error_body(self.code(), &message);
        if let CatalogError::Validation { field, message } = &self.0 {
            body["error"]["fields"] = serde_json::json!({ *field: message });
        }
        let mut response = (status, Json(body)).into_response();
        if matches!(self.0, CatalogError::Busy | CatalogError::RateLimited) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
