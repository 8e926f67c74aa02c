//! Object storage down under a running worker: a job is tried again after each backoff, then
//! failed with a reason for a person and kept in `VOD_DEAD` with the error for an operator; once
//! storage is back, the same worker process does the next job completely.

use std::time::Duration;

use ferrocast_kit::jobs::{Event, Report, DEAD_STREAM, JOBS_STREAM};
use ferrocast_worker::service::backoff;

use crate::support::{clip, World};

/// Attempts the worker makes: three, so the test sees two different backoffs.
const ATTEMPTS: u32 = 3;
/// What one attempt may add to the backoff between two starts: the S3 client's own retries
/// against a refused connection (three tries, jittered, about a second apart at most), the
/// report and the redelivery.
const ATTEMPT_AT_MOST: Duration = Duration::from_secs(5);

fn started(events: &[Event]) -> Vec<(u32, u64)> {
    events
        .iter()
        .filter_map(|event| match event.report {
            Report::Started { attempt } => Some((attempt, event.at_ms)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn with_storage_down_a_job_is_retried_with_backoff_then_dead_lettered_and_the_next_is_done_once_it_is_back(
) {
    let mut world = World::with_own_storage().await;
    let mut config = world.config();
    config.queue.attempts = ATTEMPTS;
    let (shutdown, running) = world.worker(config).await;

    // The original is stored, then storage dies before the job is queued.
    let job = world.upload(clip(1)).await;
    world.storage_server.kill().expect("SeaweedFS killed");
    world.enqueue(&job).await;
    let events = world.events_until_end(&job, Duration::from_secs(40)).await;

    let starts = started(&events);
    let attempts: Vec<u32> = starts.iter().map(|(attempt, _)| *attempt).collect();
    assert_eq!(attempts, [1, 2, 3], "{events:?}");
    let gaps: Vec<Duration> = starts
        .windows(2)
        .map(|pair| Duration::from_millis(pair[1].1 - pair[0].1))
        .collect();
    for (after, gap) in (1..).zip(&gaps) {
        let pause = backoff(after);
        assert!(
            *gap >= pause && *gap < pause + ATTEMPT_AT_MOST,
            "attempt {} started {gap:?} after attempt {after}; backoff {pause:?}",
            after + 1
        );
    }
    assert!(gaps[1] > gaps[0], "the pauses grow: {gaps:?}");
    assert!(
        !events.iter().any(|e| matches!(
            e.report,
            Report::Progress { .. } | Report::Playable { .. } | Report::Done(_)
        )),
        "{events:?}"
    );
    let Some(Report::Failed { reason, attempts }) = events.last().map(|e| &e.report) else {
        panic!("not failed: {events:?}");
    };
    assert_eq!(*attempts, ATTEMPTS);
    // The uploader's reason says what happened, not how: no error text, no address.
    assert_eq!(
        reason,
        "processing failed 3 times on our side; it was not your file"
    );
    // The operator's says why.
    assert_eq!(world.messages_in(DEAD_STREAM).await, 1);
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    let (dead, why) = world.last_dead_letter().await;
    assert_eq!(dead, job);
    assert!(
        why.starts_with(reason.as_str()) && why.contains("storage"),
        "{why}"
    );

    // Storage back on the same port with the same data; the same worker does the next job.
    world
        .storage_server
        .restart()
        .await
        .expect("SeaweedFS restarts");
    assert!(
        world.get(&job.source_key).await.is_some(),
        "the original survived"
    );
    assert!(world.keys(&job.output_prefix).await.is_empty());
    let next = world.queue(clip(1)).await;
    let reports = world
        .reports_until_end(&next, Duration::from_secs(60))
        .await;
    assert_eq!(reports.first(), Some(&Report::Started { attempt: 1 }));
    let Some(Report::Done(outputs)) = reports.last() else {
        panic!("not done: {reports:?}");
    };
    assert_eq!(outputs.renditions, ["360p", "240p"]);
    let keys = world.keys(&next.output_prefix).await;
    let prefix = &next.output_prefix;
    for key in [
        &outputs.master,
        &outputs.mpd,
        &outputs.poster,
        &outputs.thumbnails,
    ] {
        assert!(keys.contains(key), "{key} not in {keys:?}");
    }
    for name in outputs
        .renditions
        .iter()
        .map(String::as_str)
        .chain(["audio"])
    {
        assert!(keys.contains(&format!("{prefix}{name}.m3u8")), "{keys:?}");
        assert!(
            keys.contains(&format!("{prefix}{name}/init.mp4")),
            "{keys:?}"
        );
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("{prefix}{name}/")) && k.ends_with(".m4s")),
            "no {name} segment in {keys:?}"
        );
    }
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(world.messages_in(DEAD_STREAM).await, 1);
    shutdown.cancel();
    running.wait().await;
}
