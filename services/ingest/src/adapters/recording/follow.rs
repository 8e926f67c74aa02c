//! Recording one live broadcast: while the session's pipeline runs, the source rendition's
//! playlist (`{hls root}/{username}/{session}/{height}p/index.m3u8`, the copied rung: the
//! tallest, since every transcoded rung is lower) is read twice a second and every segment it
//! lists that is not recorded yet is hard-linked into the recording folder (copied when the
//! recordings live on another file system), then journalled. A hard link costs no second write
//! and outlives the live window's cleanup. Reading the playlist rather than hooking the writer
//! records the same way whoever writes the source rung (the ingest's remuxer, or ffmpeg).
//!
//! The recording stops at the longest duration or the disk budget while the stream goes on;
//! the reason is journalled, logged and told to the catalogue (the dashboard shows it). When
//! the pipeline finished, the playlist is read a last time (after its `#EXT-X-ENDLIST`), the
//! journal gets `ended`, and the recording is settled ([`super::settle`]).
//!
//! The recording is keyed on the room session, not the RTMP connection: a broadcast that goes
//! on in the same session (a publisher reconnecting within the grace, whose stream continues
//! the same room and playlists) goes on in the same recording, and a pipeline started again
//! for a session that has an unfinished recording here resumes it from its journal.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{
    journal::{self, Meta, State},
    lock, Recorder,
};
use crate::ports::Publisher;

const PLAYLIST: &str = "index.m3u8";
const SCAN_EVERY: Duration = Duration::from_millis(500);
const TITLE_EVERY: Duration = Duration::from_secs(30);
/// How long the end waits for the source playlist's `#EXT-X-ENDLIST`.
const ENDLIST_WAIT: Duration = Duration::from_secs(10);
/// How long the start asks the catalogue whether to record.
const BEGIN_WAIT: Duration = Duration::from_secs(3);

/// One segment a playlist lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub duration_ms: u64,
    /// It starts a new timeline (`#EXT-X-DISCONTINUITY` before it: another encoder went on).
    pub discontinuity: bool,
}

/// The segments of a media playlist in order, and whether it has ended. Names other than bare
/// file names are skipped (they are not ours to open).
pub fn listed(playlist: &str) -> (Vec<Listed>, bool) {
    let mut segments = Vec::new();
    let mut duration_ms = None;
    let mut discontinuity = false;
    let mut ended = false;
    for line in playlist.lines().map(str::trim) {
        if line == "#EXT-X-DISCONTINUITY" {
            discontinuity = true;
        } else if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let seconds = rest.split(',').next().unwrap_or("").trim();
            duration_ms = seconds
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| (s * 1000.0).round() as u64);
        } else if line == "#EXT-X-ENDLIST" {
            ended = true;
        } else if !line.is_empty() && !line.starts_with('#') {
            if let Some(duration_ms) = duration_ms.take() {
                let bare = !line.contains('/') && !line.contains("..") && !line.contains('?');
                if bare {
                    segments.push(Listed {
                        name: line.to_owned(),
                        duration_ms,
                        discontinuity,
                    });
                }
                discontinuity = false;
            }
        }
    }
    (segments, ended)
}

/// The source rendition's folder in a session folder: the tallest `{height}p`.
pub fn source_rendition(session: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(session).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let height: u32 = name.strip_suffix('p')?.parse().ok()?;
            Some((height, entry.path()))
        })
        .max_by_key(|(height, _)| *height)
        .map(|(_, path)| path)
}

struct Live {
    recorder: Arc<Recorder>,
    meta: Meta,
    dir: PathBuf,
    session: PathBuf,
    state: State,
    recorded: HashSet<String>,
}

/// Records `publisher`'s broadcast until `end` fires (its pipeline finished or was dropped),
/// then settles it. Owned by the recorder's task tracker.
pub async fn run(recorder: Arc<Recorder>, publisher: Publisher, end: CancellationToken) {
    let meta = Meta {
        recording_id: publisher.session_id.clone(),
        user_id: publisher.user_id.clone(),
        username: publisher.username.clone(),
        started_at: Utc::now(),
        stream_title: String::new(),
    };
    match tokio::time::timeout(BEGIN_WAIT, recorder.catalog.begin(&meta)).await {
        Ok(Ok(false)) => {
            tracing::info!(username = %meta.username, session_id = %meta.recording_id, "not recorded: the streamer does not keep past broadcasts");
            return;
        }
        Ok(Ok(true)) => {}
        // Recorded anyway: whether to keep it is asked again when it is registered.
        Ok(Err(error)) => {
            tracing::warn!(%error, username = %meta.username, "catalogue did not say whether to record; recording")
        }
        Err(_) => {
            tracing::warn!(username = %meta.username, "catalogue did not answer in time; recording")
        }
    }
    let dir = recorder.config.dir.join(&meta.recording_id);
    let session = recorder
        .hls_root
        .join(&publisher.username)
        .join(&publisher.session_id);
    let (live, _lock) = match start(&recorder, meta, &dir, session).await {
        Ok(Some(started)) => started,
        Ok(None) => {
            tracing::warn!(session_id = %publisher.session_id, "the recording is held by another process; not recorded here");
            return;
        }
        Err(error) => {
            tracing::error!(%error, username = %publisher.username, dir = %dir.display(), "cannot start the recording; the stream goes on unrecorded");
            return;
        }
    };
    let live = live.follow(end).await;
    match journal::append(&live.dir, &["ended", &Utc::now().to_rfc3339()]).await {
        Ok(()) => {
            tracing::info!(
                username = %live.meta.username,
                session_id = %live.meta.recording_id,
                segments = live.state.segments.len(),
                duration_ms = live.state.duration_ms(),
                "recording ended"
            );
            super::settle::settle(&live.recorder, &live.dir).await;
        }
        Err(error) => {
            tracing::error!(%error, dir = %live.dir.display(), "cannot journal the end of a recording; the sweeper settles it")
        }
    }
}

/// Makes (or resumes) the recording folder and takes its lock.
async fn start(
    recorder: &Arc<Recorder>,
    mut meta: Meta,
    dir: &Path,
    session: PathBuf,
) -> std::io::Result<Option<(Live, lock::Held)>> {
    tokio::fs::create_dir_all(dir).await?;
    let Some(held) = lock::take(dir)? else {
        return Ok(None);
    };
    let state = match journal::read(dir).await {
        // A session started again here: go on with its recording.
        Ok((before, state)) if !state.ended => {
            meta.started_at = before.started_at;
            meta.stream_title = before.stream_title;
            state
        }
        _ => State::default(),
    };
    journal::write_meta(dir, &meta).await?;
    let recorded = state.segments.iter().map(|e| e.source.clone()).collect();
    Ok(Some((
        Live {
            recorder: recorder.clone(),
            meta,
            dir: dir.to_owned(),
            session,
            state,
            recorded,
        },
        held,
    )))
}

impl Live {
    async fn follow(mut self, end: CancellationToken) -> Self {
        let mut scans = tokio::time::interval(SCAN_EVERY);
        scans.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut titles = tokio::time::interval(TITLE_EVERY);
        titles.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = end.cancelled() => break,
                _ = scans.tick() => { self.scan().await; }
                _ = titles.tick() => self.refresh_title().await,
            }
        }
        // The pipeline has finished: its last segment and `#EXT-X-ENDLIST` are (or are about
        // to be) on disk.
        let deadline = tokio::time::Instant::now() + ENDLIST_WAIT;
        while !self.scan().await && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self
    }

    /// Records what the source playlist lists and is new; whether the playlist has ended.
    async fn scan(&mut self) -> bool {
        let Some(rendition) = source_rendition(&self.session) else {
            return false;
        };
        let Ok(text) = tokio::fs::read_to_string(rendition.join(PLAYLIST)).await else {
            return false;
        };
        let (segments, ended) = listed(&text);
        // Known by rendition and name: a ladder planned again (a reconnect at another
        // resolution) writes a new tallest rendition whose names may repeat the old one's.
        let folder = rendition
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let in_folder = format!("{folder}/");
        for mut segment in segments {
            if self.state.stopped.is_some() {
                break;
            }
            let source = format!("{in_folder}{}", segment.name);
            if self.recorded.contains(&source) {
                continue;
            }
            // The first segment of another rendition (a ladder planned again for a new
            // encoder) starts a new timeline, whether or not its playlist says so.
            segment.discontinuity |= self
                .state
                .segments
                .last()
                .is_some_and(|last| !last.source.starts_with(&in_folder));
            segment.name = source;
            if let Err(error) = self.record(&rendition, &segment).await {
                tracing::warn!(%error, segment = %segment.name, username = %self.meta.username, "a segment was not recorded");
            }
        }
        ended
    }

    /// Records `segment`, named `{rendition folder}/{file}`.
    async fn record(&mut self, rendition: &Path, segment: &Listed) -> std::io::Result<()> {
        let file_name = segment.name.rsplit('/').next().unwrap_or_default();
        let source = rendition.join(file_name);
        let bytes = tokio::fs::metadata(&source).await?.len();
        let config = &self.recorder.config;
        let duration_ms = self.state.duration_ms() + segment.duration_ms;
        let limit = if duration_ms > config.max_duration.as_millis() as u64 {
            Some(format!(
                "the recording reached its longest length ({} s); the stream goes on unrecorded",
                config.max_duration.as_secs()
            ))
        } else if self.state.bytes() + bytes > config.max_bytes {
            Some(format!(
                "the recording reached its disk budget ({} MiB); the stream goes on unrecorded",
                config.max_bytes / (1024 * 1024)
            ))
        } else if self.recorder.disk.used().await + bytes > config.disk_budget {
            Some(format!(
                "this server's recordings reached their disk budget ({} MiB, uploads still \
                 waiting included); the stream goes on unrecorded",
                config.disk_budget / (1024 * 1024)
            ))
        } else {
            None
        };
        if let Some(reason) = limit {
            return self.stop(reason).await;
        }
        let file = self.state.next_file();
        let target = self.dir.join(&file);
        let linked = {
            let (source, target, dir) = (source.clone(), target.clone(), self.dir.clone());
            tokio::task::spawn_blocking(move || {
                std::fs::hard_link(&source, &target)
                    .or_else(|_| std::fs::copy(&source, &target).map(|_| ()))?;
                // The segment's bytes and its name in the folder reach the disk before the
                // journal lists it, so a power cut cannot leave a listed segment empty or gone.
                std::fs::File::open(&target)?.sync_data()?;
                std::fs::File::open(&dir)?.sync_all()
            })
            .await
            .map_err(std::io::Error::other)?
        };
        linked?;
        self.recorder.disk.add(bytes);
        let (duration, size) = (segment.duration_ms.to_string(), bytes.to_string());
        let mut fields = vec!["segment", &file, &duration, &size, &segment.name];
        if segment.discontinuity {
            fields.push(journal::DISCONTINUITY);
        }
        journal::append(&self.dir, &fields).await?;
        self.state.segments.push(journal::Entry {
            file,
            duration_ms: segment.duration_ms,
            bytes,
            source: segment.name.clone(),
            discontinuity: segment.discontinuity,
        });
        self.recorded.insert(segment.name.clone());
        Ok(())
    }

    async fn stop(&mut self, reason: String) -> std::io::Result<()> {
        tracing::warn!(username = %self.meta.username, session_id = %self.meta.recording_id, %reason, "recording stopped");
        metrics::counter!("ingest_recordings_stopped_total").increment(1);
        journal::append(&self.dir, &["stopped", &reason]).await?;
        self.state.stopped = Some(reason.clone());
        let (recorder, meta) = (self.recorder.clone(), self.meta.clone());
        // The streamer learns it from the catalogue; the recording does not wait for it.
        self.recorder.tasks.spawn(async move {
            if let Err(error) = recorder.catalog.stopped(&meta, &reason).await {
                tracing::warn!(%error, "the catalogue was not told why a recording stopped");
            }
        });
        Ok(())
    }

    async fn refresh_title(&mut self) {
        let Some(title) = self
            .recorder
            .catalog
            .stream_title(&self.meta.username)
            .await
        else {
            return;
        };
        if title != self.meta.stream_title {
            self.meta.stream_title = title;
            if let Err(error) = journal::write_meta(&self.dir, &self.meta).await {
                tracing::warn!(%error, "cannot keep the stream's title with its recording");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_lists_its_segments_with_their_durations() {
        let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:4\n\
            #EXT-X-PROGRAM-DATE-TIME:2026-12-07T15:00:00.000Z\n#EXTINF:1.001,\ns_00004.ts\n\
            #EXT-X-DISCONTINUITY\n#EXT-X-PART:DURATION=0.334,URI=\"s_00005-0.ts\"\n#EXTINF:0.998,\ns_00005.ts\n\
            #EXTINF:1.0,\n../escape.ts\n#EXT-X-ENDLIST\n";
        let (segments, ended) = listed(playlist);
        assert_eq!(
            segments,
            vec![
                Listed {
                    name: "s_00004.ts".into(),
                    duration_ms: 1001,
                    discontinuity: false
                },
                Listed {
                    name: "s_00005.ts".into(),
                    duration_ms: 998,
                    discontinuity: true
                },
            ]
        );
        assert!(ended);
        assert!(!listed("#EXTM3U\n#EXTINF:1,\na.ts\n").1);
    }

    #[test]
    fn the_source_rendition_is_the_tallest() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["360p", "1080p", "720p", "master.m3u8", "notp"] {
            std::fs::create_dir(dir.path().join(name)).expect("mkdir");
        }
        assert_eq!(source_rendition(dir.path()), Some(dir.path().join("1080p")));
    }
}
