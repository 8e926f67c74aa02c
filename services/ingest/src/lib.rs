//! ferrocast ingest: RTMP in, HLS out.
//!
//! Layout, the shape of every service: `domain/` (pure rules: the names that may reach the file
//! system), [`ports`] (the traits between the RTMP and media sides), `service/` (the use cases:
//! publish authorisation and live sessions), `adapters/` (the RTMP edge in `rtmp/`: listener,
//! guard, connections; pipeline supervision in `media/`: ffmpeg and the native remuxer; the HLS
//! origin in `hls/`: registry, file cache, routes and its sharded listener; the users gRPC client
//! and the rooms callbacks), and `startup.rs` ([`start`]), which wires them for `main.rs` and
//! tests.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod ports;
pub mod service;
mod startup;

pub use config::Config;
pub use startup::{serve_http, start, start_with_transcoder, Running, StartError};
