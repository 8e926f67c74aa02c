//! Recordings nobody is settling — left by a crash of this node, or of another node sharing the
//! recordings disk — are found at start and every sweep interval after, locked, journalled as
//! ended (what was recorded up to the crash is the recording) and settled, each in a task of its
//! own holding its lock, so one that keeps failing does not hold up the others. Each
//! sweep also counts the recordings the catalogue refused for good, which wait on the disk for an
//! operator (`ingest_recordings_held`): their locks are free, so the sweep reads them all.

use std::sync::Arc;

use chrono::Utc;

use super::{journal, lock, settle, Recorder};

pub async fn run(recorder: Arc<Recorder>) {
    loop {
        sweep(&recorder).await;
        tokio::select! {
            () = recorder.shutdown.cancelled() => return,
            () = tokio::time::sleep(recorder.config.sweep_interval) => {}
        }
    }
}

async fn sweep(recorder: &Arc<Recorder>) {
    let Ok(mut entries) = tokio::fs::read_dir(&recorder.config.dir).await else {
        return;
    };
    let mut held = 0usize;
    while let Ok(Some(entry)) = entries.next_entry().await {
        if recorder.shutdown.is_cancelled() {
            return;
        }
        let dir = entry.path();
        if !tokio::fs::try_exists(dir.join(journal::META))
            .await
            .unwrap_or(false)
        {
            continue;
        }
        let Ok(Some(lock)) = lock::take(&dir) else {
            continue;
        };
        let Ok((_, state)) = journal::read(&dir).await else {
            tracing::warn!(dir = %dir.display(), "an unreadable recording is left alone");
            continue;
        };
        if state.refused.is_some() {
            held += 1;
            continue;
        }
        if !state.ended {
            tracing::info!(dir = %dir.display(), segments = state.segments.len(), "recovering a recording its ingest left unfinished");
            if journal::append(&dir, &["ended", &Utc::now().to_rfc3339()])
                .await
                .is_err()
            {
                continue;
            }
        }
        let settling = recorder.clone();
        recorder.tasks.spawn(async move {
            settle::settle(&settling, &dir).await;
            drop(lock);
        });
    }
    metrics::gauge!("ingest_recordings_held").set(held as f64);
}
