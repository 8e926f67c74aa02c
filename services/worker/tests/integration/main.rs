//! The worker against real NATS JetStream, SeaweedFS, ffmpeg/ffprobe and Shaka Packager: jobs
//! end done with playable outputs, bad files end failed with a reason, and a worker killed
//! mid-job loses nothing. One test binary (crates/testkit's rule).

mod jobs;
mod support;
