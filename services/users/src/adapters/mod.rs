//! Everything that touches the outside world: the document store, the CPU-heavy password
//! hasher, JWT signing, and the HTTP and gRPC edges that map use-case errors to statuses.

pub mod grpc;
pub mod http;
pub mod mongo;
pub mod passwords;
pub mod tokens;
