//! The `users.v1` gRPC contract shared by every ferrocast service, and [`client::UsersAuth`], the
//! one way other services call it: service token attached, connect timeout and a per-call deadline
//! always set, failures classified so callers can fail closed.

pub mod client;
mod stream_key;

pub use stream_key::{StreamKey, StreamKeyError};

/// Generated messages, the `Auth` client and the `Auth` server trait.
#[allow(clippy::all, clippy::pedantic, clippy::unwrap_used)]
pub mod users_v1 {
    tonic::include_proto!("users.v1");
}

/// Encoded file descriptor set of `users.v1`, for the gRPC reflection service.
pub const USERS_V1_DESCRIPTOR: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/users_v1_descriptor.bin"));

/// Metadata entry that carries the shared service token on every internal call.
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";

/// Metadata entry users sets on the UNAUTHENTICATED status it answers to a missing or wrong
/// service token, with the value [`SERVICE_TOKEN_REFUSED`]. It lets callers tell "this service
/// is misconfigured" from "this key or token is not valid": a rotated key must cut a stream, a
/// deploy with mismatched service tokens must not cut every stream at once.
pub const REFUSAL_HEADER: &str = "x-ferrocast-refusal";
/// Value of [`REFUSAL_HEADER`] when the caller's service token was refused.
pub const SERVICE_TOKEN_REFUSED: &str = "service-token";

/// Metadata entry that carries the caller's request id, so one request can be followed across
/// services in the logs.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
