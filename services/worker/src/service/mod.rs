//! The worker's loop: take one job at a time from the shared consumer, run its [`Work`] (the
//! pipeline) with heartbeats, report how it ended, and settle the message — acked when done or
//! refused, handed back with a delay when worth another try, dead-lettered when out of attempts.

pub mod pipeline;

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{message::Message, AckKind};
use ferrocast_kit::jobs::{Delivery, Job, Outputs, Report};
use futures::{future::BoxFuture, FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::adapters::queue::{Queue, Reporter};
use pipeline::Pipeline;

use crate::ports::{JobError, Progress, Work};

pub struct Worker {
    pub queue: Queue,
    pub work: Arc<dyn Work>,
    pub delivery: Delivery,
}

/// How a message is settled.
#[derive(Debug, PartialEq, Eq)]
enum Settle {
    Ack,
    Retry(Duration),
    Dead(String),
}

/// The pause before attempt `n + 1` after attempt `n` failed: 1 s, 4 s, 16 s, then a minute.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(4u64.saturating_pow(attempt.saturating_sub(1)).min(60))
}

impl Worker {
    /// Runs one job loop until `shutdown`; a job in hand finishes first (its message would
    /// otherwise wait out the ack wait before another worker gets it).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let messages = match self
                .queue
                .consumer
                .stream()
                .max_messages_per_batch(1)
                .messages()
                .await
            {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::warn!(%error, "cannot pull jobs; trying again in a second");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            let mut messages = Box::pin(messages.take_until(shutdown.clone().cancelled_owned()));
            while let Some(next) = messages.next().await {
                match next {
                    Ok(message) => self.handle(message).await,
                    Err(error) => {
                        tracing::warn!(%error, "pulling jobs failed; pulling again");
                        break;
                    }
                }
            }
        }
    }

    async fn handle(&self, message: Message) {
        let attempt = message
            .info()
            .map_or(1, |info| u32::try_from(info.delivered).unwrap_or(u32::MAX));
        let settle = match serde_json::from_slice::<Job>(&message.payload) {
            Err(error) => Settle::Dead(format!("not a job: {error}")),
            Ok(job) => self.attempt(&job, attempt, &message).await,
        };
        let outcome = match &settle {
            Settle::Ack => message.double_ack().await,
            Settle::Retry(delay) => message.ack_with(AckKind::Nak(Some(*delay))).await,
            Settle::Dead(reason) => {
                match self.queue.dead_letter(&message.payload, reason).await {
                    Ok(()) => message.ack_with(AckKind::Term).await,
                    // Not kept anywhere yet: leave it to come back.
                    Err(error) => Err(error),
                }
            }
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, ?settle, "settling a job failed; it will be delivered again");
        }
    }

    async fn attempt(&self, job: &Job, attempt: u32, message: &Message) -> Settle {
        let reporter = Reporter {
            queue: &self.queue,
            job,
        };
        let attempts = self.delivery.attempts;
        if attempt > attempts {
            // The last delivery of a job that never ended (each try killed its worker).
            let reason = format!("processing stopped {attempts} times without an answer");
            return self.fail(&reporter, reason, attempts, Gave::Up).await;
        }
        tracing::info!(job = %job.job_id, media = %job.media_id, attempt, "job started");
        reporter.report(Report::Started { attempt }).await;
        let mut cancels = self.queue.cancels.subscribe();
        let result = {
            let run = self.work.run(job, &reporter);
            tokio::pin!(run);
            let mut beats = tokio::time::interval(self.delivery.ack_wait / 3);
            beats.tick().await;
            loop {
                tokio::select! {
                    result = &mut run => break result,
                    _ = beats.tick() => {
                        if let Err(error) = message.ack_with(AckKind::Progress).await {
                            tracing::warn!(job = %job.job_id, %error, "heartbeat not sent");
                        }
                    }
                    Ok(media) = cancels.recv() => {
                        if media == job.media_id {
                            // Dropping the run kills its ffmpeg; the report tells the catalogue,
                            // which removes whatever the job wrote.
                            tracing::info!(job = %job.job_id, "job cancelled: its video was deleted");
                            break Err(JobError::Refused("the video was deleted".into()));
                        }
                    }
                }
            }
        };
        match result {
            Ok(outputs) => {
                let done = reporter.event(Report::Done(outputs));
                match self.queue.publish(&done).await {
                    Ok(()) => {
                        tracing::info!(job = %job.job_id, media = %job.media_id, "job done");
                        Settle::Ack
                    }
                    // The outputs are stored; the next attempt rewrites them and reports.
                    Err(error) => {
                        tracing::warn!(job = %job.job_id, %error, "the done report was not sent");
                        Settle::Retry(backoff(attempt))
                    }
                }
            }
            Err(JobError::Refused(reason)) => {
                tracing::info!(job = %job.job_id, %reason, "file refused");
                self.fail(&reporter, reason, attempt, Gave::Refusal).await
            }
            Err(JobError::Retry(reason)) if attempt < attempts => {
                tracing::warn!(job = %job.job_id, attempt, %reason, "job failed; it will be tried again");
                Settle::Retry(backoff(attempt))
            }
            Err(JobError::Retry(reason)) => {
                tracing::warn!(job = %job.job_id, attempt, %reason, "job failed for the last time");
                // The person gets what happened, the dead letter (an operator) the error.
                let settle = self
                    .fail(
                        &reporter,
                        format!(
                            "processing failed {attempt} times on our side; it was not your file"
                        ),
                        attempt,
                        Gave::Up,
                    )
                    .await;
                match settle {
                    Settle::Dead(said) => Settle::Dead(format!("{said}: {reason}")),
                    other => other,
                }
            }
        }
    }

    /// Reports the failure; a refusal is acked (the file is the problem), a job given up on is
    /// dead-lettered (something else was, and an operator may want to run it again).
    async fn fail(
        &self,
        reporter: &Reporter<'_>,
        reason: String,
        attempts: u32,
        gave: Gave,
    ) -> Settle {
        let failed = reporter.event(Report::Failed {
            reason: reason.clone(),
            attempts,
        });
        if let Err(error) = self.queue.publish(&failed).await {
            tracing::warn!(job = %reporter.job.job_id, %error, "the failure report was not sent");
            return Settle::Retry(backoff(attempts));
        }
        match gave {
            Gave::Refusal => Settle::Ack,
            Gave::Up => Settle::Dead(reason),
        }
    }
}

/// Why a job ends failed.
#[derive(Debug, Clone, Copy)]
enum Gave {
    Refusal,
    Up,
}

impl Work for Pipeline {
    fn run<'a>(
        &'a self,
        job: &'a Job,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Outputs, JobError>> {
        Pipeline::run(self, job, progress).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(3), Duration::from_secs(16));
        assert_eq!(backoff(4), Duration::from_secs(60));
        assert_eq!(backoff(40), Duration::from_secs(60));
    }
}
