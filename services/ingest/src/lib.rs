//! ferrocast ingest: RTMP in, HLS out.
//!
//! Layout: `domain/` (pure rules: the names that may reach the file system), `rtmp/` (the RTMP
//! edge: listener, guard, connections), `session/` (the use cases: publish authorisation and
//! live sessions, with the ports they need), `adapters/` (users gRPC and rooms callbacks),
//! `media/` (pipeline supervision: ffmpeg and the native remuxer), `hls/` (the HLS origin:
//! registry, file cache, routes and its sharded listener), the traits between the RTMP and media
//! sides in [`ports`], and `startup.rs` ([`start`]), which wires them for `main.rs` and tests.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod hls;
pub mod media;
pub mod ports;
pub mod rtmp;
pub mod session;
mod startup;

pub use config::Config;
pub use startup::{serve_http, start, start_with_transcoder, Running, StartError};
