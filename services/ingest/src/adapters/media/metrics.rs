//! Metric names of the media pipeline, in one place so dashboards and code agree.

/// Counter: ffmpeg processes restarted after dying mid-stream.
pub const FFMPEG_RESTARTS: &str = "ingest_ffmpeg_restarts_total";
/// Counter: pipelines that ended in failure (restart budget spent, disk full, bad source).
pub const PIPELINE_FAILURES: &str = "ingest_media_pipeline_failures_total";
/// Counter: streams that went on with a new publisher (a reconnect or a takeover).
pub const PUBLISHER_SWITCHES: &str = "ingest_media_publisher_switches_total";
/// Counter: media packets dropped because ffmpeg fell behind (dropped up to the next keyframe).
pub const PACKETS_DROPPED: &str = "ingest_media_packets_dropped_total";
/// Gauge: pipelines currently running.
pub const LIVE_PIPELINES: &str = "ingest_media_pipelines_live";
/// Histogram: from ffmpeg start until every rendition has a segment and the master playlist
/// is written (what a viewer waits before the stream can play at all).
pub const FIRST_SEGMENT: &str = "ingest_hls_first_segment_duration_seconds";
/// Histogram: wall time between two updates of the source rendition's playlist. About the
/// segment length when healthy; growing values mean ffmpeg or the disk is falling behind.
pub const SEGMENT_INTERVAL: &str = "ingest_hls_segment_interval_duration_seconds";

/// Counts a live pipeline for as long as it is held.
pub(crate) struct LiveGuard;

impl LiveGuard {
    pub(crate) fn enter() -> Self {
        metrics::gauge!(LIVE_PIPELINES).increment(1.0);
        Self
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        metrics::gauge!(LIVE_PIPELINES).decrement(1.0);
    }
}
