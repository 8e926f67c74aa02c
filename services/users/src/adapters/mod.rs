//! Everything that touches the outside world: the document store (and the memory of stream-key
//! owners in front of it), the rate-limit counters kept in the same store, the CPU-heavy password
//! hasher, JWT signing, and the HTTP and gRPC edges that map use-case errors to statuses.

pub mod grpc;
pub mod http;
pub mod key_cache;
pub mod mongo;
pub mod passwords;
pub mod rate_limits;
pub mod tokens;
