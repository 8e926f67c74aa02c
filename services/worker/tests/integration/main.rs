//! The worker against real NATS JetStream, SeaweedFS, ffmpeg/ffprobe and Shaka Packager: jobs
//! end done with playable outputs, bad files end failed with a reason, and a worker killed
//! mid-job, a queue server killed with jobs waiting, a job that crashes its worker, workers
//! sharing the queue and storage going down lose nothing and do nothing twice. One test binary
//! (crates/testkit's rule).

mod durations;
mod inputs;
mod jobs;
mod resilience;
mod storage;
mod support;
