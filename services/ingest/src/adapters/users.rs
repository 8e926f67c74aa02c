//! [`KeyAuthenticator`] over the users service's gRPC `AuthenticateStreamKey`, through the shared
//! `ferrocast_proto` client (2 s deadline, service token, connect timeout). Anything but a clear
//! "no such key" is `Unavailable`, which refuses a publish (fail closed) but keeps a live session
//! that re-checks its key going. A clear "no" ends a live session; note that users also answers
//! `UNAUTHENTICATED` to a wrong service token, so the tokens must match across a deploy.

use ferrocast_proto::client::{UsersAuth, UsersAuthError};

use crate::{
    ports::{AuthError, BoxFuture, KeyAuthenticator, KeyOwner},
    service::StreamKey,
};

pub struct GrpcKeyAuthenticator {
    client: UsersAuth,
}

impl GrpcKeyAuthenticator {
    pub fn new(client: UsersAuth) -> Self {
        Self { client }
    }
}

impl KeyAuthenticator for GrpcKeyAuthenticator {
    fn authenticate<'a>(
        &'a self,
        key: &'a StreamKey,
    ) -> BoxFuture<'a, Result<KeyOwner, AuthError>> {
        Box::pin(async move {
            match self
                .client
                .authenticate_stream_key(key.expose(), None)
                .await
            {
                Ok(user) => Ok(KeyOwner {
                    user_id: user.user_id,
                    username: user.username,
                }),
                Err(UsersAuthError::Rejected) => Err(AuthError::Rejected),
                // The message is tonic's status text, which never echoes the request.
                Err(error) => Err(AuthError::Unavailable(error.to_string())),
            }
        })
    }
}
