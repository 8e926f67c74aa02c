//! Failures around a job: a worker killed mid-job, the queue server killed with jobs waiting, a
//! job that kills every worker that takes it, and workers sharing a queue. Each must end with
//! every job done exactly once, or dead-lettered with a reason, and the queue empty.

use std::{
    collections::{HashMap, HashSet},
    os::unix::fs::PermissionsExt,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use ferrocast_kit::jobs::{Job, Report, DEAD_STREAM, JOBS_STREAM};
use ferrocast_worker::Config;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{clip, World};

const ACK_WAIT: Duration = Duration::from_secs(3);

fn dones(reports: &[Report]) -> usize {
    reports
        .iter()
        .filter(|r| matches!(r, Report::Done(_)))
        .count()
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_the_job_to_another_which_finishes_it_once() {
    let world = World::start().await;
    let mut config = world.config();
    config.queue.ack_wait = ACK_WAIT;
    let log = world.scratch.path().join("killed-worker.log");
    let mut first = {
        let mut config = config.clone();
        config.work.scratch_dir = world.scratch.path().join("first");
        World::worker_binary(&config, &log)
            .spawn()
            .expect("worker binary")
    };
    let job = world.queue(clip(20)).await;

    let mut started = false;
    for _ in 0..600 {
        let stored = world.stored_reports().await;
        let reports = stored.get(&job.job_id).cloned().unwrap_or_default();
        assert_eq!(dones(&reports), 0, "done before the kill: {reports:?}");
        if reports
            .iter()
            .any(|r| matches!(r, Report::Progress { .. } | Report::Playable { .. }))
        {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started, "no progress within 60 s; log:\n{}", log_of(&log));
    first.kill().await.expect("SIGKILL");

    config.work.scratch_dir = world.scratch.path().join("second");
    let (shutdown, running) = world.worker(config).await;
    world
        .stored_until_end(&[&job], Duration::from_secs(120))
        .await;
    // Long enough for a second delivery to have ended too, had there been one.
    tokio::time::sleep(ACK_WAIT + Duration::from_secs(2)).await;
    let reports = world
        .stored_reports()
        .await
        .remove(&job.job_id)
        .expect("reports");
    assert_eq!(dones(&reports), 1, "{reports:?}");
    assert!(
        reports.contains(&Report::Started { attempt: 2 }),
        "{reports:?}"
    );
    assert!(
        !reports.iter().any(|r| matches!(r, Report::Failed { .. })),
        "{reports:?}"
    );
    let Some(Report::Done(outputs)) = reports.iter().find(|r| matches!(r, Report::Done(_))) else {
        unreachable!()
    };
    assert_eq!(outputs.renditions, ["360p", "240p"]);
    let master =
        String::from_utf8(world.get(&outputs.master).await.expect("master")).expect("utf8");
    for name in &outputs.renditions {
        assert!(master.contains(&format!("{name}.m3u8")), "{master}");
    }
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 2, "{master}");
    assert!(world.get(&outputs.mpd).await.is_some(), "no mpd");
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(world.messages_in(DEAD_STREAM).await, 0);
    shutdown.cancel();
    running.wait().await;
}

#[tokio::test]
async fn jobs_queued_before_the_queue_server_is_killed_are_all_done_after_it_restarts() {
    let mut world = World::start().await;
    let bytes = clip(1);
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(world.queue(bytes.clone()).await);
    }
    world.nats.kill().await.expect("SIGKILL nats-server");
    world.nats.restart().await.expect("nats-server restarts");
    let mut queued = 0;
    for _ in 0..100 {
        queued = world
            .messages_in_if_answering(JOBS_STREAM)
            .await
            .unwrap_or(0);
        if queued == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(queued, 3, "the queued jobs survive the crash");

    let (shutdown, running) = world.worker(world.config()).await;
    let refs: Vec<&Job> = jobs.iter().collect();
    let stored = world.stored_until_end(&refs, Duration::from_secs(90)).await;
    for job in &jobs {
        let reports = &stored[&job.job_id];
        assert!(
            matches!(reports.last(), Some(Report::Done(_))),
            "{reports:?}"
        );
        assert_eq!(dones(reports), 1, "{reports:?}");
    }
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(world.messages_in(DEAD_STREAM).await, 0);
    shutdown.cancel();
    running.wait().await;
}

/// An ffmpeg that runs the real one, except for `job`'s files: then it kills its parent, the
/// worker, as a crash in a decoder would take down a worker that ran it in process.
fn ffmpeg_that_kills_its_worker_on(job: &Job, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("ffmpeg");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\ncase \"$*\" in\n  *{}*) kill -9 \"$PPID\"; exit 137 ;;\nesac\nexec ffmpeg \"$@\"\n",
            job.job_id
        ),
    )
    .expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[tokio::test]
async fn a_job_that_kills_its_worker_every_time_is_dead_lettered_and_others_keep_flowing() {
    let world = World::start().await;
    let bytes = clip(1);
    let poison = world.queue(bytes.clone()).await;
    let normal = world.queue(bytes).await;

    let mut config = world.config();
    config.queue.ack_wait = ACK_WAIT;
    config.queue.attempts = 2;
    let mut crashing = config.clone();
    crashing.work.ffmpeg = ffmpeg_that_kills_its_worker_on(&poison, world.scratch.path());
    crashing.work.scratch_dir = world.scratch.path().join("crashing");
    let log = world.scratch.path().join("crashing-worker.log");

    // A supervisor: the worker is started again each time it dies, until the poison is out.
    let mut deaths = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut worker = World::worker_binary(&crashing, &log)
        .spawn()
        .expect("worker binary");
    loop {
        let ended = world
            .stored_reports()
            .await
            .get(&poison.job_id)
            .is_some_and(|r| r.iter().any(|r| matches!(r, Report::Failed { .. })));
        if ended {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poison job did not end within 60 s; {deaths} deaths; log:\n{}",
            log_of(&log)
        );
        if let Some(status) = worker.try_wait().expect("wait") {
            deaths += 1;
            assert!(
                deaths <= 2,
                "died {deaths} times ({status}); log:\n{}",
                log_of(&log)
            );
            worker = World::worker_binary(&crashing, &log)
                .spawn()
                .expect("worker binary");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(deaths, 2, "log:\n{}", log_of(&log));

    // Then the healthy worker; the normal job is done by one or the other, once.
    let pid = worker.id().expect("running");
    ferrocast_testkit::process::signal(pid, "-TERM");
    let status = tokio::time::timeout(Duration::from_secs(30), worker.wait())
        .await
        .expect("the worker stops on SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status}; log:\n{}", log_of(&log));
    config.work.scratch_dir = world.scratch.path().join("healthy");
    let (shutdown, running) = world.worker(config).await;
    let stored = world
        .stored_until_end(&[&poison, &normal], Duration::from_secs(30))
        .await;

    let reports = &stored[&poison.job_id];
    let Some(Report::Failed { reason, attempts }) = reports.last() else {
        panic!("{reports:?}");
    };
    assert!(reason.contains("processing stopped 2 times"), "{reason}");
    assert_eq!(*attempts, 2);
    assert!(
        reports.contains(&Report::Started { attempt: 2 }),
        "{reports:?}"
    );
    assert_eq!(dones(reports), 0, "{reports:?}");
    let reports = &stored[&normal.job_id];
    assert!(
        matches!(reports.last(), Some(Report::Done(_))),
        "{reports:?}"
    );
    assert_eq!(dones(reports), 1, "{reports:?}");
    assert_eq!(world.messages_in(DEAD_STREAM).await, 1);
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    shutdown.cancel();
    running.wait().await;
}

/// Job ids seen in a worker's scratch folder (a job's files live under its id while it runs).
fn watch(dir: std::path::PathBuf, seen: Arc<Mutex<HashSet<Uuid>>>, stop: CancellationToken) {
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    if let Ok(id) = entry.file_name().to_string_lossy().parse() {
                        seen.lock().expect("lock").insert(id);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[tokio::test]
async fn two_workers_share_the_queue_and_every_job_is_done_exactly_once() {
    let world = World::start().await;
    let mut workers = Vec::new();
    let mut seen = Vec::new();
    let stop = CancellationToken::new();
    for name in ["a", "b"] {
        let mut config: Config = world.config();
        config.work.ladder = "144:100".into();
        config.work.scratch_dir = world.scratch.path().join(name);
        let ids = Arc::new(Mutex::new(HashSet::new()));
        watch(config.work.scratch_dir.clone(), ids.clone(), stop.clone());
        seen.push(ids);
        workers.push(world.worker(config).await);
    }
    let bytes = clip(1);
    let mut jobs = Vec::new();
    for _ in 0..20 {
        jobs.push(world.queue(bytes.clone()).await);
    }
    let refs: Vec<&Job> = jobs.iter().collect();
    world
        .stored_until_end(&refs, Duration::from_secs(120))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();

    let stored = world.stored_reports().await;
    let done: HashMap<Uuid, usize> = jobs
        .iter()
        .map(|job| (job.job_id, dones(&stored[&job.job_id])))
        .collect();
    assert!(done.values().all(|&n| n == 1), "{done:?}");
    assert_eq!(done.values().sum::<usize>(), 20);
    let per_worker: Vec<usize> = seen.iter().map(|s| s.lock().expect("lock").len()).collect();
    assert!(
        per_worker.iter().all(|&n| n > 0),
        "each worker took jobs: {per_worker:?}"
    );
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(world.messages_in(DEAD_STREAM).await, 0);
    for (shutdown, running) in workers {
        shutdown.cancel();
        running.wait().await;
    }
}
