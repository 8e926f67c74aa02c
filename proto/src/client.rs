//! Typed client for `users.v1.Auth`.
//!
//! tonic sets no connect or request timeout by default, so a hung users service would hang every
//! publish and page that needs it. This client always sets both, attaches the service token, and
//! splits failures into "the users service said no" and "the users service could not answer",
//! which callers map to 403/401 and 503 respectively (never to "allowed").

use std::time::Duration;

use tonic::{
    metadata::{Ascii, MetadataValue},
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
    Code, Request, Status,
};

use crate::{
    users_v1::{
        auth_client::AuthClient, get_user_request::By, AuthenticateStreamKeyRequest,
        GetUserRequest, ValidateTokenRequest,
    },
    REFUSAL_HEADER, REQUEST_ID_HEADER, SERVICE_TOKEN_HEADER, SERVICE_TOKEN_REFUSED,
};

/// Where and how to reach the users service.
#[derive(Clone)]
pub struct UsersAuthConfig {
    /// e.g. `http://127.0.0.1:50051`
    pub url: String,
    pub service_token: String,
    pub connect_timeout: Duration,
    /// Deadline of every call; the architecture asks for 2 s.
    pub deadline: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_a_rejection() {
        let error = UsersAuthError::from(Status::unauthenticated("unknown key"));
        assert!(matches!(error, UsersAuthError::Rejected));
    }

    #[test]
    fn a_refused_service_token_is_an_outage_not_a_rejection() {
        let mut status = Status::unauthenticated("missing or invalid service token");
        status.metadata_mut().insert(
            REFUSAL_HEADER,
            SERVICE_TOKEN_REFUSED.parse().expect("ascii"),
        );
        assert!(matches!(
            UsersAuthError::from(status),
            UsersAuthError::Unavailable(_)
        ));
    }

    #[test]
    fn timeouts_and_unreachable_servers_are_outages() {
        for status in [
            Status::deadline_exceeded("slow"),
            Status::unavailable("down"),
        ] {
            assert!(matches!(
                UsersAuthError::from(status),
                UsersAuthError::Unavailable(_)
            ));
        }
    }
}

impl std::fmt::Debug for UsersAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsersAuthConfig")
            .field("url", &self.url)
            .field("service_token", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl UsersAuthConfig {
    pub fn new(url: impl Into<String>, service_token: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            service_token: service_token.into(),
            connect_timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(2),
        }
    }
}

/// The user a stream key or token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub user_id: String,
    pub username: String,
}

/// Claims of a validated access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub user_id: String,
    pub username: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub token_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersAuthError {
    /// The users service answered: this key, token or user is not valid.
    #[error("rejected by the users service")]
    Rejected,
    /// The users service could not be reached or did not answer in time. Callers fail closed.
    #[error("users service unavailable: {0}")]
    Unavailable(String),
    #[error("invalid users service configuration: {0}")]
    Config(String),
}

impl From<Status> for UsersAuthError {
    fn from(status: Status) -> Self {
        let service_token_refused = status
            .metadata()
            .get(REFUSAL_HEADER)
            .is_some_and(|v| v.as_bytes() == SERVICE_TOKEN_REFUSED.as_bytes());
        if service_token_refused {
            // Our own credentials are wrong: the users service could not judge the key or
            // token at all, so callers must treat it like an outage, not like a "no".
            return Self::Unavailable("users refused this service's token".into());
        }
        match status.code() {
            Code::Unauthenticated | Code::NotFound | Code::InvalidArgument => Self::Rejected,
            code => Self::Unavailable(format!("{code:?}: {}", status.message())),
        }
    }
}

/// Adds the service token to every outgoing call.
#[derive(Clone)]
pub struct ServiceToken(MetadataValue<Ascii>);

impl tonic::service::Interceptor for ServiceToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(SERVICE_TOKEN_HEADER, self.0.clone());
        Ok(request)
    }
}

type Inner = AuthClient<InterceptedService<Channel, ServiceToken>>;

/// Cheap to clone; all clones share one HTTP/2 connection.
#[derive(Clone)]
pub struct UsersAuth {
    inner: Inner,
    deadline: Duration,
}

impl UsersAuth {
    /// Builds the client without connecting: the first call connects, so a service can start
    /// before users is up and report it through readiness instead of crashing.
    pub fn connect_lazy(config: &UsersAuthConfig) -> Result<Self, UsersAuthError> {
        let token: MetadataValue<Ascii> = config
            .service_token
            .parse()
            .map_err(|_| UsersAuthError::Config("service token must be ASCII".into()))?;
        let channel = Endpoint::from_shared(config.url.clone())
            .map_err(|e| UsersAuthError::Config(format!("users url: {e}")))?
            .connect_timeout(config.connect_timeout)
            .timeout(config.deadline)
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(Self {
            inner: AuthClient::with_interceptor(channel, ServiceToken(token)),
            deadline: config.deadline,
        })
    }

    fn request<T>(&self, message: T, request_id: Option<&str>) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.deadline);
        if let Some(id) = request_id.and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert(REQUEST_ID_HEADER, id);
        }
        request
    }

    pub async fn authenticate_stream_key(
        &self,
        stream_key: &str,
        request_id: Option<&str>,
    ) -> Result<AuthenticatedUser, UsersAuthError> {
        let request = self.request(
            AuthenticateStreamKeyRequest {
                stream_key: stream_key.to_owned(),
            },
            request_id,
        );
        let reply = self
            .inner
            .clone()
            .authenticate_stream_key(request)
            .await?
            .into_inner();
        Ok(AuthenticatedUser {
            user_id: reply.user_id,
            username: reply.username,
        })
    }

    pub async fn validate_token(
        &self,
        token: &str,
        request_id: Option<&str>,
    ) -> Result<TokenClaims, UsersAuthError> {
        let request = self.request(
            ValidateTokenRequest {
                token: token.to_owned(),
            },
            request_id,
        );
        let reply = self
            .inner
            .clone()
            .validate_token(request)
            .await?
            .into_inner();
        Ok(TokenClaims {
            user_id: reply.user_id,
            username: reply.username,
            issued_at: reply.issued_at,
            expires_at: reply.expires_at,
            token_id: reply.token_id,
        })
    }

    pub async fn get_user_by_name(
        &self,
        username: &str,
        request_id: Option<&str>,
    ) -> Result<AuthenticatedUser, UsersAuthError> {
        let request = self.request(
            GetUserRequest {
                by: Some(By::Username(username.to_owned())),
            },
            request_id,
        );
        let reply = self.inner.clone().get_user(request).await?.into_inner();
        Ok(AuthenticatedUser {
            user_id: reply.user_id,
            username: reply.username,
        })
    }

    /// Whether the users service answers: any reply proves it, and looking up a name that
    /// cannot exist is the cheapest call the contract offers.
    pub async fn ping(&self) -> Result<(), UsersAuthError> {
        match self.get_user_by_name("-", None).await {
            Ok(_) | Err(UsersAuthError::Rejected) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
