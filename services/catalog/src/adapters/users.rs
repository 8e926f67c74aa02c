//! The [`Authenticator`] port on the users service's gRPC API (the shared typed client: service
//! token, 2 s deadline, failures split into rejected and unavailable).

use ferrocast_proto::client::{UsersAuth, UsersAuthError};
use futures::{future::BoxFuture, FutureExt};

use crate::ports::{AuthError, Authenticator, Caller};

pub struct GrpcUsers {
    client: UsersAuth,
}

impl GrpcUsers {
    pub fn new(client: UsersAuth) -> Self {
        Self { client }
    }
}

fn auth_error(error: UsersAuthError) -> AuthError {
    match error {
        UsersAuthError::Rejected => AuthError::Rejected,
        other => AuthError::Unavailable(other.to_string()),
    }
}

impl Authenticator for GrpcUsers {
    fn validate_token<'a>(
        &'a self,
        token: &'a str,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Caller, AuthError>> {
        async move {
            let claims = self
                .client
                .validate_token(token, request_id)
                .await
                .map_err(auth_error)?;
            Ok(Caller {
                user_id: claims.user_id,
                username: claims.username,
            })
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), AuthError>> {
        async move { self.client.ping().await.map_err(auth_error) }.boxed()
    }
}
