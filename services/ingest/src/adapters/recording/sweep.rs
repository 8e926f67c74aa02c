//! Recordings nobody is settling — left by a crash of this node, or of another node sharing the
//! recordings disk — are found at start and every sweep interval after, locked one at a time,
//! journalled as ended (what was recorded up to the crash is the recording) and settled.

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
        let Ok(Some(_held)) = lock::take(&dir) else {
            continue;
        };
        let Ok((_, state)) = journal::read(&dir).await else {
            tracing::warn!(dir = %dir.display(), "an unreadable recording is left alone");
            continue;
        };
        if state.refused.is_some() {
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
        settle::settle(recorder, &dir).await;
    }
}
