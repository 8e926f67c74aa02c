//! A video's processing as the catalogue records it from the workers' reports: the one record
//! per video (its latest job), moved only forward by [`Processing::apply`]. The catalogue is
//! the only writer; workers only report (`ferrocast_kit::jobs`).

use chrono::{DateTime, TimeZone, Utc};
use ferrocast_kit::jobs::{Event, Job, Outputs, Report};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The job states as the product names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum JobState {
    #[serde(rename = "PENDING")]
    Pending,
    #[serde(rename = "IN PROGRESS")]
    InProgress,
    #[serde(rename = "DONE")]
    Done,
    #[serde(rename = "FAILED")]
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "in_progress" => Some(Self::InProgress),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    fn finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

use super::MediaId;

/// Job `job_id` of item `id`: the original in, the outputs under the item's prefix.
pub fn job(id: MediaId, job_id: Uuid) -> Job {
    Job::for_item(id.0, job_id, id.original_key(), &id.prefix())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Processing {
    pub job_id: Uuid,
    pub state: JobState,
    pub percent: u8,
    pub attempts: u32,
    /// Why it failed, for the owner.
    pub reason: Option<String>,
    /// The master playlist's object key once something plays (fast start: before `Done`).
    pub master: Option<String>,
    pub renditions: Vec<String>,
    pub outputs: Option<Outputs>,
    /// The job is on the queue (false: the queue did not take it yet; the sweeper retries).
    pub queued: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub playable_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Processing {
    pub fn new(job_id: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            job_id,
            state: JobState::Pending,
            percent: 0,
            attempts: 0,
            reason: None,
            master: None,
            renditions: Vec::new(),
            outputs: None,
            queued: false,
            queued_at: now,
            started_at: None,
            playable_at: None,
            finished_at: None,
        }
    }

    /// The record after `event`, or `None` when the event changes nothing: another job's
    /// (an older one of a re-processed video), one arriving after the job finished (a
    /// redelivered job's late report), or progress going backwards.
    pub fn apply(&self, event: &Event) -> Option<Self> {
        if event.job_id != self.job_id || self.state.finished() {
            return None;
        }
        let at = Utc
            .timestamp_millis_opt(i64::try_from(event.at_ms).unwrap_or(i64::MAX))
            .single()
            .unwrap_or_else(Utc::now);
        let mut next = self.clone();
        match &event.report {
            Report::Started { attempt } => {
                next.state = JobState::InProgress;
                next.attempts = next.attempts.max(*attempt);
                next.started_at.get_or_insert(at);
            }
            Report::Progress { percent } => {
                next.state = JobState::InProgress;
                next.percent = next.percent.max((*percent).min(99));
            }
            Report::Playable { master, renditions } => {
                next.state = JobState::InProgress;
                next.master = Some(master.clone());
                if renditions.len() >= next.renditions.len() {
                    next.renditions.clone_from(renditions);
                }
                next.playable_at.get_or_insert(at);
            }
            Report::Done(outputs) => {
                next.state = JobState::Done;
                next.percent = 100;
                next.master = Some(outputs.master.clone());
                next.renditions.clone_from(&outputs.renditions);
                next.outputs = Some(outputs.clone());
                next.playable_at.get_or_insert(at);
                next.finished_at = Some(at);
            }
            Report::Failed { reason, attempts } => {
                next.state = JobState::Failed;
                next.reason = Some(reason.clone());
                next.attempts = next.attempts.max(*attempts);
                next.finished_at = Some(at);
            }
        }
        (next != *self).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(job_id: Uuid, report: Report) -> Event {
        Event {
            job_id,
            media_id: Uuid::nil(),
            at_ms: 1_700_000_000_000,
            report,
        }
    }

    fn outputs() -> Outputs {
        Outputs {
            master: "vod/m/j/master.m3u8".into(),
            mpd: "vod/m/j/manifest.mpd".into(),
            poster: "vod/m/j/poster.jpg".into(),
            thumbnails: "vod/m/j/thumbs/thumbnails.vtt".into(),
            renditions: vec!["720p".into(), "360p".into()],
            duration_ms: 60_000,
        }
    }

    #[test]
    fn reports_move_a_job_forward_and_never_back() {
        let job = Uuid::new_v4();
        let pending = Processing::new(job, Utc::now());
        let started = pending
            .apply(&event(job, Report::Started { attempt: 1 }))
            .expect("changes");
        assert_eq!(started.state, JobState::InProgress);
        let half = started
            .apply(&event(job, Report::Progress { percent: 50 }))
            .expect("changes");
        assert_eq!(half.percent, 50);
        assert_eq!(
            half.apply(&event(job, Report::Progress { percent: 20 })),
            None,
            "progress does not go back"
        );
        let playable = half
            .apply(&event(
                job,
                Report::Playable {
                    master: "vod/m/j/master.m3u8".into(),
                    renditions: vec!["720p".into()],
                },
            ))
            .expect("changes");
        assert_eq!(playable.state, JobState::InProgress);
        assert!(playable.playable_at.is_some());
        let done = playable
            .apply(&event(job, Report::Done(outputs())))
            .expect("changes");
        assert_eq!((done.state, done.percent), (JobState::Done, 100));
        // A redelivered attempt's late reports change nothing.
        assert_eq!(
            done.apply(&event(job, Report::Started { attempt: 2 })),
            None
        );
        assert_eq!(
            done.apply(&event(
                job,
                Report::Failed {
                    reason: "x".into(),
                    attempts: 2
                }
            )),
            None
        );
    }

    #[test]
    fn another_jobs_reports_are_ignored_and_failures_keep_their_reason() {
        let job = Uuid::new_v4();
        let pending = Processing::new(job, Utc::now());
        assert_eq!(
            pending.apply(&event(Uuid::new_v4(), Report::Done(outputs()))),
            None
        );
        let failed = pending
            .apply(&event(
                job,
                Report::Failed {
                    reason: "the file is not a video".into(),
                    attempts: 1,
                },
            ))
            .expect("changes");
        assert_eq!(failed.state, JobState::Failed);
        assert_eq!(failed.reason.as_deref(), Some("the file is not a video"));
    }
}
