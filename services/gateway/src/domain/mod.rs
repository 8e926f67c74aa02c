//! Pure rules of the gateway: which request paths may go to which upstream, which static files the
//! browser may fetch and how long it may cache them, which headers cross the proxy. No I/O lives
//! here, so every rule is unit-tested beside its code.

pub mod headers;
pub mod hls_path;
pub mod origin;
pub mod path;
pub mod route;
pub mod static_path;
pub mod username;
