//! How much of the disk this ingest's recordings hold: the live ones, and the ended ones waiting
//! for the catalogue or storage (a long outage piles them up). Counted from the folder now and
//! then, and kept up to date in between by what the live recordings add, so checking it before
//! each segment costs no walk of the folder.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// How long a count of the folder is trusted (plus what was added since).
const RECOUNT_AFTER: Duration = Duration::from_secs(5);

pub struct DiskUsage {
    dir: PathBuf,
    /// When the folder was last counted, and the bytes then plus those added since.
    counted: Mutex<Option<(Instant, u64)>>,
}

impl DiskUsage {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            counted: Mutex::new(None),
        }
    }

    /// Bytes under the recordings folder.
    pub async fn used(&self) -> u64 {
        if let Some((at, bytes)) = *self.lock() {
            if at.elapsed() < RECOUNT_AFTER {
                return bytes;
            }
        }
        let dir = self.dir.clone();
        let bytes = tokio::task::spawn_blocking(move || bytes_under(&dir))
            .await
            .unwrap_or(0);
        *self.lock() = Some((Instant::now(), bytes));
        bytes
    }

    /// A live recording wrote `bytes` more.
    pub fn add(&self, bytes: u64) {
        if let Some((_, counted)) = self.lock().as_mut() {
            *counted += bytes;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, u64)>> {
        self.counted.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sizes of the files in `dir`'s folders (one folder per recording, files only inside).
fn bytes_under(dir: &Path) -> u64 {
    let Ok(recordings) = std::fs::read_dir(dir) else {
        return 0;
    };
    recordings
        .flatten()
        .filter_map(|recording| std::fs::read_dir(recording.path()).ok())
        .flat_map(|files| files.flatten())
        .filter_map(|file| file.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|metadata| metadata.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_every_recordings_files_and_what_was_added_since() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (folder, sizes) in [("a", [1000usize, 24]), ("b", [500, 0])] {
            std::fs::create_dir(dir.path().join(folder)).expect("folder");
            for (i, size) in sizes.iter().enumerate() {
                std::fs::write(dir.path().join(folder).join(i.to_string()), vec![0; *size])
                    .expect("file");
            }
        }
        std::fs::write(dir.path().join("stray"), vec![0; 77]).expect("file");
        let usage = DiskUsage::new(dir.path().to_owned());
        assert_eq!(usage.used().await, 1524);
        usage.add(100);
        assert_eq!(usage.used().await, 1624, "added since the count");
        assert_eq!(DiskUsage::new(dir.path().join("none")).used().await, 0);
    }
}
