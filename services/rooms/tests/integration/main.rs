//! Integration tests of the rooms service against real Redis, the real users service (on a real
//! document store), and for the drop-in case a real nginx-rtmp driven by a real ffmpeg. One test
//! binary (so the workspace links it once); every test has its own Redis key prefix and users.
#![allow(clippy::unwrap_used)]

mod callbacks;
mod events;
mod lease;
mod nginx_rtmp;
mod redis_restart;
mod rest;
mod support;
