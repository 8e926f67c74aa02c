//! The VOD job queue's contract on NATS JetStream, shared by the catalogue (puts jobs, records
//! what workers report) and the workers (take jobs, report).
//!
//! - `VOD_JOBS` (subject `vod.jobs`): a file-backed work queue; one durable pull consumer,
//!   `workers`, shared by every worker, explicit acks. A job is removed when a worker acks it.
//! - `VOD_DEAD` (subject `vod.dead`): jobs that used up their attempts, kept for an operator.
//!   JetStream only publishes an advisory when a message runs out of deliveries and leaves it in
//!   the stream, so dead-lettering is the worker's explicit act.
//! - `VOD_EVENTS` (subjects `vod.events.<media id>`): what workers report, read by the
//!   catalogue through its durable consumer `catalog`; the catalogue is the only writer of a
//!   video's record.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const JOBS_STREAM: &str = "VOD_JOBS";
pub const JOBS_SUBJECT: &str = "vod.jobs";
pub const WORKERS_CONSUMER: &str = "workers";
pub const DEAD_STREAM: &str = "VOD_DEAD";
pub const DEAD_SUBJECT: &str = "vod.dead";
pub const EVENTS_STREAM: &str = "VOD_EVENTS";
pub const CATALOG_CONSUMER: &str = "catalog";
/// Reports are kept this long for a catalogue that was down to catch up.
pub const EVENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Core NATS (not stored): "stop working on `media`, it was deleted", heard by every worker.
pub const CANCEL_SUBJECTS: &str = "vod.cancel.*";

pub fn cancel_subject(media: Uuid) -> String {
    format!("vod.cancel.{media}")
}

/// The media id a cancel subject names.
pub fn cancelled_media(subject: &str) -> Option<Uuid> {
    subject.strip_prefix("vod.cancel.")?.parse().ok()
}

/// The subject a report about `media` goes to.
pub fn events_subject(media: Uuid) -> String {
    format!("vod.events.{media}")
}

/// One video to process. Everything a worker writes goes under `output_prefix`, which names
/// the job: a redelivered job overwrites its own outputs and never adds a second set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: Uuid,
    pub media_id: Uuid,
    /// The original's object key.
    pub source_key: String,
    /// Ends with `/`.
    pub output_prefix: String,
    /// For an encrypted video: its content key sealed with the platform key for `media_id`
    /// (`ferrocast_kit::sealing`, as text). Only a worker holding the platform key opens it;
    /// the message never carries the key in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_key: Option<String>,
}

impl Job {
    /// A new job for `media_id`, its outputs under `vod/{media_id}/{job_id}/`.
    pub fn new(media_id: Uuid, source_key: String) -> Self {
        Self::for_item(
            media_id,
            Uuid::new_v4(),
            source_key,
            &format!("vod/{media_id}/"),
        )
    }

    /// Job `job_id` of the item whose objects all live under `item_prefix` (ends with `/`):
    /// its outputs go to `{item_prefix}vod/{job_id}/`, so removing the item removes them.
    pub fn for_item(media_id: Uuid, job_id: Uuid, source_key: String, item_prefix: &str) -> Self {
        Self {
            job_id,
            media_id,
            source_key,
            output_prefix: format!("{item_prefix}vod/{job_id}/"),
            content_key: None,
        }
    }
}

/// What a worker reports about a job, in order: `Started`, `Progress`…, `Playable` (fast start,
/// or the first rung), then `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Report {
    Started {
        attempt: u32,
    },
    Progress {
        percent: u8,
    },
    /// The master playlist at `master` (an object key) plays; more rungs may follow.
    Playable {
        master: String,
        renditions: Vec<String>,
    },
    Done(Outputs),
    /// `reason` is for a person: what was wrong with the file, or that processing gave up.
    Failed {
        reason: String,
        attempts: u32,
    },
}

/// The object keys of a finished video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub master: String,
    pub mpd: String,
    pub poster: String,
    pub thumbnails: String,
    pub renditions: Vec<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub job_id: Uuid,
    pub media_id: Uuid,
    /// Milliseconds since the Unix epoch, at the worker.
    pub at_ms: u64,
    #[serde(flatten)]
    pub report: Report,
}

/// How deliveries of a job are paced.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// A job unacknowledged this long (a worker died or hung) is delivered again; a working
    /// worker sends a progress heartbeat well within it.
    pub ack_wait: Duration,
    /// Attempts at a job before it is dead-lettered.
    pub attempts: u32,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            attempts: 4,
        }
    }
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Creates the three streams when they are missing, each kept on `replicas` servers of a
/// cluster (every catalogue and worker replica does so at start; the same settings make it
/// idempotent).
pub async fn ensure_streams(js: &jetstream::Context, replicas: usize) -> Result<(), Error> {
    for (name, subjects, retention, max_age) in [
        (
            JOBS_STREAM,
            vec![JOBS_SUBJECT.to_owned()],
            stream::RetentionPolicy::WorkQueue,
            Duration::ZERO,
        ),
        (
            DEAD_STREAM,
            vec![DEAD_SUBJECT.to_owned()],
            stream::RetentionPolicy::Limits,
            Duration::ZERO,
        ),
        (
            EVENTS_STREAM,
            vec!["vod.events.>".to_owned()],
            stream::RetentionPolicy::Limits,
            EVENTS_MAX_AGE,
        ),
    ] {
        js.get_or_create_stream(stream::Config {
            name: name.to_owned(),
            subjects,
            retention,
            max_age,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        })
        .await?;
    }
    Ok(())
}

/// Puts `job` on the queue and waits until the stream stored it. The job id is the message id,
/// so JetStream keeps one copy of a job published twice within its duplicate window (a caller
/// that publishes again after a lost acknowledgement).
pub async fn enqueue(js: &jetstream::Context, job: &Job) -> Result<(), Error> {
    let payload = serde_json::to_vec(job)?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", job.job_id.to_string().as_str());
    js.publish_with_headers(JOBS_SUBJECT, headers, payload.into())
        .await?
        .await?;
    Ok(())
}

/// The workers' shared consumer. It delivers a job once more than `delivery.attempts`: the last
/// delivery only moves the job to `VOD_DEAD` (a job that crashes its worker each time could not
/// be dead-lettered by the attempt that crashes).
pub async fn workers_consumer(
    js: &jetstream::Context,
    delivery: Delivery,
) -> Result<consumer::PullConsumer, Error> {
    let stream = js.get_stream(JOBS_STREAM).await?;
    Ok(stream
        .get_or_create_consumer(
            WORKERS_CONSUMER,
            consumer::pull::Config {
                durable_name: Some(WORKERS_CONSUMER.to_owned()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: delivery.ack_wait,
                max_deliver: i64::from(delivery.attempts) + 1,
                ..Default::default()
            },
        )
        .await?)
}

/// The catalogue's consumer of reports.
pub async fn catalog_consumer(js: &jetstream::Context) -> Result<consumer::PullConsumer, Error> {
    let stream = js.get_stream(EVENTS_STREAM).await?;
    Ok(stream
        .get_or_create_consumer(
            CATALOG_CONSUMER,
            consumer::pull::Config {
                durable_name: Some(CATALOG_CONSUMER.to_owned()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await?)
}

/// How an output file is stored and served: its content type and caching. Segments, init
/// segments, posters and sprites never change under their name (a job writes under a prefix
/// of its own), so a CDN may keep them for a year; playlists and manifests change while
/// renditions join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub content_type: &'static str,
    pub cache_control: &'static str,
    /// Written after what it names.
    pub playlist: bool,
}

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const CHANGING: &str = "public, max-age=2";

/// The kind of output `name` (a path under a job's prefix) is, by its extension; `None` for a
/// name no job writes.
pub fn file_kind(name: &str) -> Option<FileKind> {
    let (_, extension) = name.rsplit_once('.')?;
    let (content_type, playlist) = match extension {
        "m3u8" => ("application/vnd.apple.mpegurl", true),
        "mpd" => ("application/dash+xml", true),
        "m4s" => ("video/iso.segment", false),
        "mp4" => ("video/mp4", false),
        "jpg" => ("image/jpeg", false),
        "vtt" => ("text/vtt", false),
        _ => return None,
    };
    Some(FileKind {
        content_type,
        cache_control: if playlist { CHANGING } else { IMMUTABLE },
        playlist,
    })
}

/// Whether `path` may name an output to serve: one or two segments of `[a-z0-9_-]` before a
/// known extension (`master.m3u8`, `360p/7.m4s`, `thumbs/sprite_0.jpg`), nothing else — no
/// `..`, no absolute path, no empty segment, at most 128 bytes.
pub fn servable(path: &str) -> bool {
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    let Some((stem, _)) = path.rsplit_once('.') else {
        return false;
    };
    let parts: Vec<&str> = stem.split('/').collect();
    path.len() <= 128
        && file_kind(path).is_some()
        && (1..=2).contains(&parts.len())
        && parts.iter().all(|p| plain(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_travel_as_tagged_json() {
        let event = Event {
            job_id: Uuid::nil(),
            media_id: Uuid::nil(),
            at_ms: 5,
            report: Report::Progress { percent: 40 },
        };
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["kind"], "progress");
        assert_eq!(json["percent"], 40);
        assert_eq!(serde_json::from_value::<Event>(json).expect("back"), event);
    }

    #[test]
    fn outputs_are_typed_by_name_and_only_plain_names_are_served() {
        let segment = file_kind("360p/1.m4s").expect("segment");
        assert_eq!(segment.cache_control, IMMUTABLE);
        assert!(file_kind("master.m3u8").expect("master").playlist);
        assert!(file_kind("manifest.mpd").expect("mpd").playlist);
        assert_eq!(
            file_kind("thumbs/thumbnails.vtt").map(|k| k.content_type),
            Some("text/vtt")
        );
        assert_eq!(file_kind("source"), None);
        for good in [
            "master.m3u8",
            "360p/7.m4s",
            "thumbs/sprite_0.jpg",
            "audio/init.mp4",
        ] {
            assert!(servable(good), "{good}");
        }
        for bad in [
            "../original",
            "/etc/passwd.m3u8",
            "a/../b.m3u8",
            "a//b.m4s",
            "a/b/c.m4s",
            "Master.m3u8",
            "x.m3u8?y",
            "source",
            "x.html",
            ".m3u8",
            "a%2fb.m4s",
        ] {
            assert!(!servable(bad), "{bad}");
        }
    }

    #[test]
    fn cancel_subjects_name_their_media() {
        let media = Uuid::new_v4();
        assert_eq!(cancelled_media(&cancel_subject(media)), Some(media));
        assert_eq!(cancelled_media("vod.cancel.x"), None);
        assert_eq!(cancelled_media("vod.events.x"), None);
    }

    #[test]
    fn a_job_writes_under_a_prefix_of_its_own() {
        let media = Uuid::new_v4();
        let a = Job::new(media, "originals/x".into());
        let b = Job::new(media, "originals/x".into());
        assert!(a.output_prefix.starts_with(&format!("vod/{media}/")));
        assert!(a.output_prefix.ends_with('/'));
        assert_ne!(a.output_prefix, b.output_prefix);
    }
}
