//! A recording on disk: `{dir}/{recording id}/` holds `recording.json` (whose, since when, the
//! stream's title; replaced atomically), the source rendition's segments as `{n:06}.ts`, and
//! `journal`, one line appended per event: `segment FILE DURATION_MS BYTES SOURCE [new-timeline]`
//! (SOURCE: the live segment, `{rendition}/{name}`; `new-timeline` when another encoder's
//! timeline starts there), `stopped REASON` (a limit was reached), `ended AT`,
//! `remuxed SIZE SHA256` (the segments became `recording.mp4`), `refused REASON` (the catalogue
//! turned it down for good). Fields are tab-separated. A line is appended only after what it names is on disk, and a torn last
//! line (a kill mid-write) is ignored, so a crash leaves a recording readable up to its last
//! whole segment.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const META: &str = "recording.json";
pub const JOURNAL: &str = "journal";
pub const MP4: &str = "recording.mp4";
/// The last field of a segment that starts a new timeline.
pub const DISCONTINUITY: &str = "new-timeline";

/// Whose recording and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub recording_id: String,
    pub user_id: String,
    pub username: String,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub stream_title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub file: String,
    pub duration_ms: u64,
    pub bytes: u64,
    /// The live segment it is: `{rendition folder}/{name}`.
    pub source: String,
    /// Another encoder's timeline starts here (its timestamps start again).
    pub discontinuity: bool,
}

/// What the journal says so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub segments: Vec<Entry>,
    pub stopped: Option<String>,
    pub ended: bool,
    pub remuxed: Option<(u64, String)>,
    pub refused: Option<String>,
}

impl State {
    pub fn duration_ms(&self) -> u64 {
        duration_ms(&self.segments)
    }

    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|e| e.bytes).sum()
    }

    /// The name the next segment gets in the recording folder.
    pub fn next_file(&self) -> String {
        format!("{:06}.ts", self.segments.len())
    }
}

/// How long `segments` last together.
pub fn duration_ms(segments: &[Entry]) -> u64 {
    segments.iter().map(|e| e.duration_ms).sum()
}

pub fn parse(text: &str) -> State {
    let mut state = State::default();
    // Only whole lines: the last one without its newline was torn by a kill.
    let whole = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    for line in whole.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["segment", file, duration, bytes, source, rest @ ..] if is_segment_file(file) => {
                if let (Ok(duration_ms), Ok(bytes)) = (duration.parse(), bytes.parse()) {
                    state.segments.push(Entry {
                        file: (*file).to_owned(),
                        duration_ms,
                        bytes,
                        source: (*source).to_owned(),
                        discontinuity: rest.first() == Some(&DISCONTINUITY),
                    });
                }
            }
            ["stopped", reason] => state.stopped = Some((*reason).to_owned()),
            ["ended", _] => state.ended = true,
            ["remuxed", size, sha256] => {
                if let Ok(size) = size.parse() {
                    state.remuxed = Some((size, (*sha256).to_owned()));
                }
            }
            ["refused", reason] => state.refused = Some((*reason).to_owned()),
            _ => {}
        }
    }
    state
}

/// Only names this module makes are ever opened from a journal.
fn is_segment_file(name: &str) -> bool {
    name.len() == 9 && name.ends_with(".ts") && name[..6].bytes().all(|b| b.is_ascii_digit())
}

/// One line, with tabs and line breaks in free text made spaces.
pub fn line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| f.replace(['\t', '\n', '\r'], " "))
        .collect::<Vec<_>>()
        .join("\t");
    line.push('\n');
    line
}

pub async fn append(dir: &Path, fields: &[&str]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(JOURNAL))
        .await?;
    file.write_all(line(fields).as_bytes()).await?;
    file.flush().await?;
    // On the disk before anything acts on it: a power cut keeps every line written.
    file.sync_data().await
}

pub async fn read(dir: &Path) -> std::io::Result<(Meta, State)> {
    let meta = tokio::fs::read(dir.join(META)).await?;
    let meta: Meta = serde_json::from_slice(&meta)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let state = match tokio::fs::read_to_string(dir.join(JOURNAL)).await {
        Ok(text) => parse(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => State::default(),
        Err(error) => return Err(error),
    };
    Ok((meta, state))
}

/// Replaces `recording.json` through a temporary file, synced, and a rename.
pub async fn write_meta(dir: &Path, meta: &Meta) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let bytes = serde_json::to_vec(meta)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let temporary = dir.join(format!("{META}.tmp"));
    let mut file = tokio::fs::File::create(&temporary).await?;
    file.write_all(&bytes).await?;
    file.sync_data().await?;
    tokio::fs::rename(&temporary, dir.join(META)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reads_back_and_a_torn_last_line_is_ignored() {
        let mut text = String::new();
        text += &line(&["segment", "000000.ts", "1000", "5000", "s_00001.ts"]);
        text += &line(&[
            "segment",
            "000001.ts",
            "1001",
            "4000",
            "s_00002.ts",
            DISCONTINUITY,
        ]);
        text += &line(&["stopped", "the disk\tbudget"]);
        text += &line(&["ended", "2026-12-07T15:00:00Z"]);
        text += "segment\t000002.ts\t10";
        let state = parse(&text);
        assert_eq!(state.segments.len(), 2);
        assert_eq!(state.duration_ms(), 2001);
        assert_eq!(state.bytes(), 9000);
        assert_eq!(state.stopped.as_deref(), Some("the disk budget"));
        assert!(state.ended);
        assert_eq!(state.next_file(), "000002.ts");
        assert!(!state.segments[0].discontinuity && state.segments[1].discontinuity);
    }

    #[test]
    fn names_other_than_its_own_are_never_read_from_a_journal() {
        let text = line(&["segment", "../../etc", "1000", "5", "x"])
            + &line(&["segment", "00000a.ts", "1000", "5", "x"]);
        assert!(parse(&text).segments.is_empty());
    }
}
