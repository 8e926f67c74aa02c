//! What the job pipeline needs from outside that is not a file or a program: somewhere to say
//! how far a job got.

use ferrocast_kit::jobs::Report;
use futures::future::BoxFuture;

/// Where a job tells how far it got. A report that cannot be delivered is the reporter's to
/// log; the job goes on.
pub trait Progress: Send + Sync {
    fn report(&self, report: Report) -> BoxFuture<'_, ()>;
}
