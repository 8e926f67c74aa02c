//! The catalogue against real dependencies: PostgreSQL, SeaweedFS (a real S3 server that checks
//! signatures and checksums), NATS JetStream, the users service and (for processing) a worker
//! in-process with real ffmpeg and Shaka Packager.

mod access;
mod encryption;
mod playback;
mod processing;
mod progress;
mod recordings;
mod search;
mod support;
mod uploads;
