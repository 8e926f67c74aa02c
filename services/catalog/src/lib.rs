//! ferrocast catalog: the service that knows the videos and images.
//!
//! A user creates an item and gets a presigned upload; the bytes go straight to object storage
//! (S3 API), which itself refuses bytes of another length or SHA-256; finalize checks what
//! arrived and marks the item uploaded. Items carry tags from one shared list and are found by
//! ranked full-text search in PostgreSQL. Layout: `domain/` (pure rules), `ports.rs` (traits),
//! `service/` (use cases and the sweeper), `adapters/` (PostgreSQL, S3, users gRPC, HTTP), and
//! `startup.rs` ([`start`]), which wires them for `main.rs` and tests.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod ports;
pub mod service;
mod startup;

pub use config::Config;
pub use startup::{start, Running, StartError};
