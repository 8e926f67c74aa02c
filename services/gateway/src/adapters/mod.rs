//! Everything that touches the outside world: the HTTP edge browsers talk to (routes, proxying,
//! static files, security headers), and the gateway's connections to other services: the pooled
//! upstream HTTP client, the rooms lookup of a user's ingest origin, and the short cache in front
//! of that lookup.

pub mod http;
pub mod origin_cache;
pub mod rooms_directory;
pub mod upstream;
