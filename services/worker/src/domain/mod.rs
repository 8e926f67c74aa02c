//! The worker's own rules; the media rules (probe, limits, plan, argv) are crates/media's.

pub mod outputs;
