//! A finished recording becomes a video: too short → removed; else its segments are remuxed into
//! one MP4 (ffmpeg `-c copy`, argv only, `PATH` its whole environment), journalled with its size
//! and SHA-256, and registered with the catalogue, which answers the upload to make (one
//! presigned PUT, or parts); then finalize. The folder is removed only once the catalogue
//! confirmed finalize (or said the streamer does not keep past broadcasts). Anything else
//! unanswered — catalogue, storage, this disk — is tried again with backoff until it works or
//! the ingest stops; the sweeper of the next start (or of another node) goes on from the journal.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{
    catalog::{CallError, Upload},
    journal::{self, Entry, Meta, MP4},
    Recorder,
};

/// Parts whose URLs one request asks for (the catalogue's limit).
const PARTS_PER_REQUEST: u64 = 100;
/// The catalogue's part sizes stay far below this; a larger one is not read into memory.
const MAX_PART_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug)]
enum Failure {
    /// Try again later.
    Transient(String),
    /// The catalogue turned it down for good: kept on disk for an operator, not retried.
    Refused(String),
}

impl From<CallError> for Failure {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Refused(..) => Self::Refused(error.to_string()),
            other => Self::Transient(other.to_string()),
        }
    }
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> Failure {
    move |error| Failure::Transient(format!("{what}: {error}"))
}

enum Settled {
    Registered(String),
    Discarded(&'static str),
}

/// Settles the recording in `dir` (its lock held by the caller), retrying until it is done or
/// the ingest stops.
pub async fn settle(recorder: &Recorder, dir: &Path) {
    let mut wait = Duration::from_secs(1);
    loop {
        // A stopping ingest leaves the recording as the journal has it: the next start (or
        // another node) goes on from there, so nothing holds the shutdown up. A slot is held
        // for an attempt only, not while waiting to try again.
        let attempted = tokio::select! {
            () = recorder.shutdown.cancelled() => return,
            attempted = async {
                let _slot = recorder.uploads.acquire().await;
                attempt(recorder, dir).await
            } => attempted,
        };
        match attempted {
            Ok(settled) => {
                match settled {
                    Settled::Registered(media) => {
                        metrics::counter!("ingest_recordings_registered_total").increment(1);
                        tracing::info!(dir = %dir.display(), %media, "recording registered as a past broadcast");
                    }
                    Settled::Discarded(why) => {
                        metrics::counter!("ingest_recordings_discarded_total").increment(1);
                        tracing::info!(dir = %dir.display(), why, "recording not kept");
                    }
                }
                if let Err(error) = tokio::fs::remove_dir_all(dir).await {
                    tracing::warn!(%error, dir = %dir.display(), "cannot remove a settled recording");
                }
                return;
            }
            Err(Failure::Refused(reason)) => {
                metrics::counter!("ingest_recordings_refused_total").increment(1);
                tracing::error!(dir = %dir.display(), %reason, "the catalogue refused a recording; kept on disk");
                let _ = journal::append(dir, &["refused", &reason]).await;
                return;
            }
            Err(Failure::Transient(reason)) => {
                metrics::counter!("ingest_recording_upload_retries_total").increment(1);
                tracing::warn!(dir = %dir.display(), %reason, retry_in_ms = wait.as_millis() as u64, "recording not registered yet; retrying");
            }
        }
        tokio::select! {
            () = recorder.shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(recorder.config.retry_cap);
    }
}

async fn attempt(recorder: &Recorder, dir: &Path) -> Result<Settled, Failure> {
    let (meta, state) = journal::read(dir).await.map_err(io("read the journal"))?;
    if let Some(reason) = state.refused {
        return Err(Failure::Refused(reason));
    }
    let (size, sha256) = match state.remuxed.clone() {
        Some(done) => done,
        None => {
            let segments = on_disk(dir, &state.segments).await;
            if journal::duration_ms(&segments) < recorder.config.min_duration.as_millis() as u64 {
                return Ok(Settled::Discarded(
                    "shorter than the shortest kept broadcast",
                ));
            }
            remux(recorder, dir, &segments).await?
        }
    };
    let registered = match recorder.catalog.register(&meta, size, &sha256).await {
        Err(CallError::NotWanted) => {
            return Ok(Settled::Discarded(
                "the streamer does not keep past broadcasts",
            ))
        }
        other => other?,
    };
    let file = dir.join(MP4);
    match registered.upload {
        None => {}
        Some(Upload::Put { request }) => {
            if size > MAX_PART_BYTES {
                return Err(Failure::Refused(format!("a single PUT of {size} bytes")));
            }
            let bytes = read_range(&file, 0, size).await?;
            recorder.catalog.send(&request, bytes).await?;
        }
        Some(Upload::Multipart { part_size, parts }) => {
            upload_parts(recorder, &meta, &file, size, part_size, parts).await?;
        }
    }
    recorder.catalog.finalize(&meta).await?;
    Ok(Settled::Registered(registered.media.id))
}

async fn upload_parts(
    recorder: &Recorder,
    meta: &Meta,
    file: &Path,
    size: u64,
    part_size: u64,
    parts: u64,
) -> Result<(), Failure> {
    if part_size == 0 || part_size > MAX_PART_BYTES || parts != size.div_ceil(part_size) {
        return Err(Failure::Refused(format!(
            "an upload plan of {parts} parts of {part_size} bytes for {size} bytes"
        )));
    }
    let mut first = 1;
    while first <= parts {
        let last = (first + PARTS_PER_REQUEST - 1).min(parts);
        let mut digests = Vec::new();
        for number in first..=last {
            let bytes = part(file, size, part_size, number).await?;
            digests.push((number as u32, hex::encode(Sha256::digest(&bytes))));
        }
        for (number, request) in recorder.catalog.parts(meta, &digests).await? {
            let bytes = part(file, size, part_size, u64::from(number)).await?;
            recorder.catalog.send(&request, bytes).await?;
        }
        first = last + 1;
    }
    Ok(())
}

async fn part(file: &Path, size: u64, part_size: u64, number: u64) -> Result<Bytes, Failure> {
    let start = (number - 1) * part_size;
    read_range(file, start, part_size.min(size.saturating_sub(start))).await
}

async fn read_range(file: &Path, start: u64, length: u64) -> Result<Bytes, Failure> {
    let mut opened = tokio::fs::File::open(file)
        .await
        .map_err(io("open the recording"))?;
    opened
        .seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(io("read the recording"))?;
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    opened
        .take(length)
        .read_to_end(&mut bytes)
        .await
        .map_err(io("read the recording"))?;
    if bytes.len() as u64 != length {
        return Err(Failure::Transient("the recording changed on disk".into()));
    }
    Ok(Bytes::from(bytes))
}

/// The journalled segments whose files are there. One that is gone (lost in a power cut before
/// it reached the disk, removed by hand) is left out with a warning rather than failing every
/// attempt: the recording is what is left, and the segment after a gap starts a timeline, so
/// the video has no hole where it was.
async fn on_disk(dir: &Path, segments: &[Entry]) -> Vec<Entry> {
    let mut present = Vec::with_capacity(segments.len());
    let mut missing = 0usize;
    let mut after_gap = false;
    for entry in segments {
        match tokio::fs::metadata(dir.join(&entry.file)).await {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                missing += 1;
                after_gap = true;
            }
            _ => {
                let mut entry = entry.clone();
                entry.discontinuity |= after_gap;
                after_gap = false;
                present.push(entry);
            }
        }
    }
    if missing > 0 {
        tracing::warn!(dir = %dir.display(), missing, "journalled segments are gone; the recording is made without them");
    }
    present
}

/// The segments' timelines: runs of segments whose timestamps go on from one to the next (a
/// publisher that reconnected starts a new one).
fn timelines(segments: &[Entry]) -> Vec<&[Entry]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, entry) in segments.iter().enumerate() {
        if entry.discontinuity && i > start {
            runs.push(&segments[start..i]);
            start = i;
        }
    }
    if start < segments.len() {
        runs.push(&segments[start..]);
    }
    runs
}

/// Each timeline joined into `timeline-{n}.ts`, and an ffconcat list of them: ffmpeg's concat
/// demuxer lays each after the previous one's end, where their own timestamps would start over.
async fn join_timelines(dir: &Path, runs: &[&[Entry]]) -> Result<PathBuf, Failure> {
    let mut list = String::from("ffconcat version 1.0\n");
    for (n, run) in runs.iter().enumerate() {
        let name = format!("timeline-{n}.ts");
        let mut joined = tokio::fs::File::create(dir.join(&name))
            .await
            .map_err(io("join a timeline"))?;
        for entry in *run {
            let mut segment = tokio::fs::File::open(dir.join(&entry.file))
                .await
                .map_err(io("read a segment"))?;
            tokio::io::copy(&mut segment, &mut joined)
                .await
                .map_err(io("join a timeline"))?;
        }
        joined.flush().await.map_err(io("join a timeline"))?;
        list.push_str(&format!("file '{name}'\n"));
    }
    let path = dir.join("timelines.ffconcat");
    tokio::fs::write(&path, list)
        .await
        .map_err(io("write the timeline list"))?;
    Ok(path)
}

/// The segments, in order, through ffmpeg into `recording.mp4`; journalled, then the segments
/// go. Returns the MP4's size and SHA-256 (hex). One timeline (the usual case) is fed on stdin
/// as it is on disk; several are joined first (the files are ours, named by us).
async fn remux(
    recorder: &Recorder,
    dir: &Path,
    segments: &[Entry],
) -> Result<(u64, String), Failure> {
    let temporary = dir.join(format!("{MP4}.tmp"));
    let runs = timelines(segments);
    let list = if runs.len() > 1 {
        Some(join_timelines(dir, &runs).await?)
    } else {
        None
    };
    let mut command = tokio::process::Command::new(&recorder.ffmpeg);
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.args(["-hide_banner", "-nostats", "-loglevel", "error", "-y"]);
    match &list {
        Some(list) => command.args(["-f", "concat", "-safe", "0", "-i"]).arg(list),
        None => command.args(["-f", "mpegts", "-i", "pipe:0"]),
    };
    command
        .args(["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy"])
        .args(["-f", "mp4"])
        .arg(&temporary)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| Failure::Transient(format!("cannot run ffmpeg: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Failure::Transient("ffmpeg has no stdin".into()))?;
    let files: Vec<PathBuf> = if list.is_some() {
        Vec::new()
    } else {
        segments.iter().map(|e| dir.join(&e.file)).collect()
    };
    let feed = async move {
        for file in files {
            let mut segment = tokio::fs::File::open(&file).await?;
            tokio::io::copy(&mut segment, &mut stdin).await?;
        }
        stdin.shutdown().await
    };
    let (fed, output) = tokio::join!(feed, async {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr).await;
        }
        (child.wait().await, stderr)
    });
    let (status, stderr) = output;
    let status = status.map_err(|e| Failure::Transient(format!("ffmpeg: {e}")))?;
    if let Err(error) = fed {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(Failure::Transient(format!(
            "cannot feed ffmpeg the segments: {error}"
        )));
    }
    if !status.success() {
        let _ = tokio::fs::remove_file(&temporary).await;
        let stderr: String = stderr.chars().take(500).collect();
        return Err(Failure::Transient(format!(
            "ffmpeg could not remux the recording ({status}): {stderr}"
        )));
    }
    let (size, sha256) = digest(&temporary).await?;
    tokio::fs::rename(&temporary, dir.join(MP4))
        .await
        .map_err(io("keep the remuxed recording"))?;
    journal::append(dir, &["remuxed", &size.to_string(), &sha256])
        .await
        .map_err(io("journal the remux"))?;
    for entry in segments {
        let _ = tokio::fs::remove_file(dir.join(&entry.file)).await;
    }
    if list.is_some() {
        for n in 0..runs.len() {
            let _ = tokio::fs::remove_file(dir.join(format!("timeline-{n}.ts"))).await;
        }
        let _ = tokio::fs::remove_file(dir.join("timelines.ffconcat")).await;
    }
    Ok((size, sha256))
}

async fn digest(file: &Path) -> Result<(u64, String), Failure> {
    let file = file.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut opened = std::fs::File::open(&file)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1024 * 1024];
        let mut size = 0u64;
        loop {
            let read = opened.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            size += read as u64;
            hasher.update(&buffer[..read]);
        }
        Ok::<_, std::io::Error>((size, hex::encode(hasher.finalize())))
    })
    .await
    .map_err(|e| Failure::Transient(format!("digest task: {e}")))?
    .map_err(io("read the remuxed recording"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize, discontinuity: bool) -> Entry {
        Entry {
            file: format!("{n:06}.ts"),
            duration_ms: 1000,
            bytes: 1,
            source: format!("720p/s_{n:05}.ts"),
            discontinuity,
        }
    }

    #[test]
    fn a_reconnect_starts_a_new_timeline() {
        let one = [entry(0, false), entry(1, false)];
        assert_eq!(timelines(&one).len(), 1);
        // A first segment marked as continuing an earlier timeline is still the first.
        let first_marked = [entry(0, true), entry(1, false)];
        assert_eq!(timelines(&first_marked).len(), 1);
        let two = [
            entry(0, false),
            entry(1, false),
            entry(2, true),
            entry(3, false),
        ];
        let runs = timelines(&two);
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [2, 2]);
        assert!(timelines(&[]).is_empty());
    }

    #[tokio::test]
    async fn a_segment_gone_from_the_disk_is_left_out_and_the_next_starts_a_timeline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journalled: Vec<Entry> = (0..5).map(|n| entry(n, false)).collect();
        for entry in &journalled {
            if entry.file != "000002.ts" {
                std::fs::write(dir.path().join(&entry.file), b"ts").expect("write");
            }
        }
        let present = on_disk(dir.path(), &journalled).await;
        let files: Vec<&str> = present.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["000000.ts", "000001.ts", "000003.ts", "000004.ts"]);
        let runs = timelines(&present);
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [2, 2]);
    }
}
