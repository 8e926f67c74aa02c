//! What the job loop needs from outside: the work a job is (the pipeline, or nothing at all
//! when the loop itself is measured), and somewhere to say how far a job got.

use ferrocast_kit::jobs::{Job, Outputs, Report};
use futures::future::BoxFuture;

/// One job's work, start to finish: its outputs, or why not. The loop around it owns the
/// message (heartbeats, acks, retries, dead letters) and the start and end reports.
pub trait Work: Send + Sync {
    fn run<'a>(
        &'a self,
        job: &'a Job,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Outputs, JobError>>;
}

/// Where a job tells how far it got. A report that cannot be delivered is the reporter's to
/// log; the job goes on.
pub trait Progress: Send + Sync {
    fn report(&self, report: Report) -> BoxFuture<'_, ()>;
}

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The file is not something the platform plays, or exceeds a limit: the reason is for
    /// the uploader, and trying again cannot help.
    #[error("{0}")]
    Refused(String),
    /// Something outside the file failed (storage, a tool, the disk): worth another attempt.
    #[error("{0}")]
    Retry(String),
}
