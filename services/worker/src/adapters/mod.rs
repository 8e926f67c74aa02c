//! The worker's connections: the job queue (NATS JetStream), object storage (S3), and the
//! programs a job runs (ffmpeg, ffprobe, Shaka Packager).

pub mod queue;
pub mod storage;
pub mod tools;
