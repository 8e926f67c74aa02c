//! The RTMP side of the ingest: a TCP server that completes the handshake, validates every byte
//! in [`guard`] before rml_rtmp parses it, and turns an authorised publish into media packets
//! for the session layer.

pub mod amf;
pub mod connection;
pub mod guard;
pub mod harness;
pub mod server;
