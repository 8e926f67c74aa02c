//! Integration tests of the ingest: RTMP publishing against the real users and rooms services
//! (users from the test kit's platform), abuse and fuzz-corpus inputs, the media pipelines with
//! real ffmpeg, the HLS origin over real HTTP, and the whole live path end to end. One binary
//! (the workspace links it once); `rtmp_support` and `media_common` hold what only these tests
//! need on top of the kit.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod hls_origin;
mod live_acceptance;
mod live_thumbnails;
mod media_common;
mod media_native;
mod media_relay;
mod media_rtmp_publish;
mod media_transcoder;
mod reconnect;
mod rtmp_abuse;
mod rtmp_fuzz_corpus;
mod rtmp_guard_random;
mod rtmp_publish;
mod rtmp_support;
