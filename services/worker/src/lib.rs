//! ferrocast worker: turns uploaded videos into packaged adaptive streams.
//!
//! A worker has no state of its own. It takes jobs from the JetStream work queue the catalogue
//! fills (`ferrocast_kit::jobs`), one at a time per job slot, streams the original from object
//! storage into a scratch folder, and runs crates/media's `vod` plan: probe and limits, the
//! ladder (the source copied first when browsers play it as it is), CMAF packaging with Shaka
//! Packager (HLS + DASH), poster and scrubbing thumbnails. Outputs go to storage under the job's
//! own prefix; reports (started, percent, playable, done, failed) go to the report stream, which
//! the catalogue records. The rules are crates/media's (`vod`) and the kit's (`jobs`: the queue
//! and the output files); here: `service/` (the loop and the pipeline), `ports.rs`, `adapters/` (NATS, S3, the tools), `startup.rs` ([`start`]).

pub mod adapters;
pub mod config;
pub mod ports;
pub mod service;
mod startup;

pub use config::Config;
pub use startup::{start, Running, StartError};
