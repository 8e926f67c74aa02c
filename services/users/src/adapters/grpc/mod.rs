//! The internal gRPC edge: `users.v1.Auth` behind the service-token guard, plus health and
//! reflection (which need no token: orchestrators and grpcurl call them). The server has a
//! per-request timeout and a global concurrency limit so a burst cannot pile up unbounded work.

mod auth;
mod guard;

use std::{sync::Arc, time::Duration};

use ferrocast_proto::{users_v1::auth_server::AuthServer, USERS_V1_DESCRIPTOR};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{server::TcpIncoming, Server};
use tonic_health::ServingStatus;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::{config::Secret, service::Accounts};

pub use auth::AuthService;
pub use guard::ServiceTokenGuard;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONCURRENT_REQUESTS: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error("reflection service: {0}")]
    Reflection(String),
    #[error("gRPC server: {0}")]
    Transport(String),
}

/// Builds the server; the returned future serves until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    accounts: Arc<Accounts>,
    service_token: &Secret,
    shutdown: CancellationToken,
) -> Result<impl std::future::Future<Output = ()>, GrpcError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<AuthServer<AuthService>>().await;
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(USERS_V1_DESCRIPTOR)
        .build_v1()
        .map_err(|e| GrpcError::Reflection(e.to_string()))?;
    let auth = AuthServer::with_interceptor(
        AuthService::new(accounts),
        ServiceTokenGuard::new(service_token.expose()),
    );
    let router = Server::builder()
        .timeout(REQUEST_TIMEOUT)
        .layer(GlobalConcurrencyLimitLayer::new(MAX_CONCURRENT_REQUESTS))
        .add_service(health)
        .add_service(reflection)
        .add_service(auth);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Ok(async move {
        let stopping = shutdown.clone();
        let signal = async move {
            stopping.cancelled().await;
            // Tell load balancers first, then stop accepting.
            reporter
                .set_service_status("", ServingStatus::NotServing)
                .await;
            reporter.set_not_serving::<AuthServer<AuthService>>().await;
        };
        if let Err(error) = router.serve_with_incoming_shutdown(incoming, signal).await {
            tracing::error!(%error, "gRPC server stopped with an error");
        }
    })
}
