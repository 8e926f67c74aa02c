//! ferrocast rooms: the service that knows who is live.
//!
//! A room exists exactly while its owner publishes. Publish callbacks in nginx-rtmp's wire
//! format (from our ingest or a stock nginx-rtmp) create, renew and end rooms in Redis; REST and
//! SSE show them. Layout: `domain/` (pure rules), `ports.rs` (traits), `service/` (use cases),
//! `adapters/` (Redis, users gRPC, DNS, HTTP), and `startup.rs` ([`start`]), which wires them
//! for `main.rs` and tests.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod ports;
pub mod service;
mod startup;

pub use config::Config;
pub use startup::{start, Running, StartError};
