//! `users.v1.Auth`: the calls ingest and rooms make to learn who a stream key or token belongs
//! to. Each call runs in a span carrying the caller's request id and is counted by method and
//! resulting code. Store outages become UNAVAILABLE so callers can fail closed with a 503.

use std::{future::Future, sync::Arc};

use ferrocast_proto::{
    users_v1::{
        auth_server::Auth, get_user_request::By, AuthenticateStreamKeyRequest,
        AuthenticateStreamKeyResponse, GetUserRequest, GetUserResponse, ValidateTokenRequest,
        ValidateTokenResponse,
    },
    REQUEST_ID_HEADER,
};
use tonic::{metadata::MetadataMap, Request, Response, Status};
use tracing::Instrument;

use crate::{
    domain::UserId,
    service::{AccountError, Accounts},
};

pub struct AuthService {
    accounts: Arc<Accounts>,
}

impl AuthService {
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Self { accounts }
    }
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn authenticate_stream_key(
        &self,
        request: Request<AuthenticateStreamKeyRequest>,
    ) -> Result<Response<AuthenticateStreamKeyResponse>, Status> {
        observe("AuthenticateStreamKey", request.metadata(), async {
            let user = self
                .accounts
                .user_for_stream_key(&request.get_ref().stream_key)
                .await?;
            Ok(AuthenticateStreamKeyResponse {
                user_id: user.id.as_str().to_owned(),
                username: user.username.as_str().to_owned(),
            })
        })
        .await
    }

    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        observe("ValidateToken", request.metadata(), async {
            let token = self.accounts.authenticate(&request.get_ref().token)?;
            Ok(ValidateTokenResponse {
                user_id: token.user_id.as_str().to_owned(),
                username: token.username.as_str().to_owned(),
                issued_at: token.issued_at,
                expires_at: token.expires_at,
                token_id: token.token_id,
            })
        })
        .await
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        observe("GetUser", request.metadata(), async {
            let user = match request.get_ref().by.clone() {
                Some(By::UserId(id)) => self.accounts.user_by_id(UserId::from_string(id)).await?,
                Some(By::Username(name)) => self.accounts.user_by_username(&name).await?,
                None => return Err(Status::invalid_argument("user_id or username is required")),
            };
            Ok(GetUserResponse {
                user_id: user.id.as_str().to_owned(),
                username: user.username.as_str().to_owned(),
                created_at: user.created_at.timestamp(),
            })
        })
        .await
    }
}

/// Runs one call inside a span with the caller's request id and counts its outcome.
async fn observe<T>(
    method: &'static str,
    metadata: &MetadataMap,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<Response<T>, Status> {
    let request_id = metadata
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_safe_request_id(id))
        .unwrap_or("-");
    let span = tracing::info_span!("grpc", method, request_id);
    let result = call.instrument(span.clone()).await;
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    span.in_scope(|| tracing::debug!(?code, "gRPC call finished"));
    metrics::counter!("users_grpc_requests_total", "method" => method, "code" => format!("{code:?}"))
        .increment(1);
    result.map(Response::new)
}

/// Request ids go into logs: only short ids of harmless characters are kept (no log injection).
fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl From<AccountError> for Status {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Unauthenticated | AccountError::InvalidCredentials => {
                Status::unauthenticated("not authenticated")
            }
            AccountError::NotFound => Status::not_found("no such user"),
            AccountError::Validation(_) | AccountError::Conflict(_) => {
                Status::invalid_argument("invalid request")
            }
            AccountError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                Status::unavailable("user store unavailable")
            }
            AccountError::Busy => Status::resource_exhausted("too busy; retry shortly"),
            // No gRPC method is rate limited today; kept exhaustive for when one is.
            AccountError::RateLimited { .. } => Status::resource_exhausted("rate limited"),
            AccountError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_with_control_characters_are_not_logged() {
        assert!(is_safe_request_id("3f2a-b1_c.9"));
        assert!(!is_safe_request_id("id\nfake log line"));
        assert!(!is_safe_request_id(&"a".repeat(65)));
    }
}
