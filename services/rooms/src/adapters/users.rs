//! The [`Authenticator`] port on the users service's gRPC API, through the lead's typed client
//! (service token, connect timeout, 2 s deadline, failures split into rejected / unavailable).

use ferrocast_proto::client::{AuthenticatedUser, UsersAuth, UsersAuthError};
use futures::{future::BoxFuture, FutureExt};

use crate::{
    domain::{StreamKey, Username},
    ports::{AuthError, Authenticator, Identity},
};

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

/// A username the users service vouches for but rooms cannot parse means the two disagree on
/// the rules: refuse as unavailable (fail closed) rather than guess.
fn identity(user: AuthenticatedUser) -> Result<Identity, AuthError> {
    let username = Username::parse(&user.username)
        .map_err(|_| AuthError::Unavailable("users service returned an invalid username".into()))?;
    Ok(Identity {
        user_id: user.user_id,
        username,
    })
}

impl Authenticator for GrpcUsers {
    fn authenticate_key<'a>(
        &'a self,
        key: &'a StreamKey,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        async move {
            let user = self
                .client
                .authenticate_stream_key(key.expose(), request_id)
                .await
                .map_err(auth_error)?;
            identity(user)
        }
        .boxed()
    }

    fn validate_token<'a>(
        &'a self,
        token: &'a str,
        request_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        async move {
            let claims = self
                .client
                .validate_token(token, request_id)
                .await
                .map_err(auth_error)?;
            identity(AuthenticatedUser {
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
