//! Service-token check for every `users.v1.Auth` call.
//!
//! The token is compared as SHA-256 digests with `subtle`, so neither its content nor its length
//! leaks through timing. Metadata values are never logged: a rejected call logs only that it
//! was rejected.

use std::sync::Arc;

use ferrocast_proto::{REFUSAL_HEADER, SERVICE_TOKEN_HEADER, SERVICE_TOKEN_REFUSED};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::{service::Interceptor, Request, Status};

use crate::service::auth_failure;

#[derive(Clone)]
pub struct ServiceTokenGuard {
    expected: Arc<[u8; 32]>,
}

impl ServiceTokenGuard {
    pub fn new(token: &str) -> Self {
        Self {
            expected: Arc::new(Sha256::digest(token.as_bytes()).into()),
        }
    }

    fn accepts(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&*self.expected).into()
    }
}

impl Interceptor for ServiceTokenGuard {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request
            .metadata()
            .get(SERVICE_TOKEN_HEADER)
            .map(|value| value.as_bytes());
        match presented {
            Some(token) if self.accepts(token) => Ok(request),
            _ => {
                auth_failure("service_token");
                tracing::warn!("gRPC call without a valid service token refused");
                let mut status = Status::unauthenticated("missing or invalid service token");
                // Marks the refusal as being about the caller, not the key it asked about.
                status.metadata_mut().insert(
                    REFUSAL_HEADER,
                    tonic::metadata::MetadataValue::from_static(SERVICE_TOKEN_REFUSED),
                );
                Err(status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(token: Option<&str>) -> Result<Request<()>, Status> {
        let mut request = Request::new(());
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert(SERVICE_TOKEN_HEADER, token.parse().unwrap());
        }
        ServiceTokenGuard::new("right-token").call(request)
    }

    #[test]
    fn the_right_token_passes() {
        assert!(call(Some("right-token")).is_ok());
    }

    #[test]
    fn a_wrong_or_missing_token_is_unauthenticated() {
        for token in [
            None,
            Some("wrong-token"),
            Some("right-token-but-longer"),
            Some(""),
        ] {
            let status = call(token).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert_eq!(
                status.metadata().get(REFUSAL_HEADER).map(|v| v.as_bytes()),
                Some(SERVICE_TOKEN_REFUSED.as_bytes())
            );
        }
    }
}
