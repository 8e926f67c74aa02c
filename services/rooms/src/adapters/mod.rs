//! Adapters: the ports implemented against real systems — Redis for rooms and events, the users
//! service over gRPC for keys and tokens, the system resolver for ingest origins — and the HTTP
//! edge that speaks REST, SSE and the nginx-rtmp callback format.

pub mod dns;
pub mod http;
pub mod redis;
pub mod users;
