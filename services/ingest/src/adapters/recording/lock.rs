//! One holder per recording, also across ingest nodes sharing the recordings disk: a `lock` file
//! made with `O_EXCL`, naming its holder (host, pid, and a random id per process), its mtime
//! refreshed while held. Another process may take it when the holder is gone: on the same host,
//! a holder whose process is not running (or whose pid now belongs to this process, as pid 1 in
//! a restarted container); from any host, one not refreshed for [`STALE_AFTER`]. Two sweepers
//! racing for a stale lock may both win for a moment; the catalogue's registration is keyed by
//! the recording id, so that costs a second upload at worst, never a second video.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use tokio_util::sync::CancellationToken;

const LOCK: &str = "lock";
/// A lock not refreshed for this long is abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// `host pid instance` of this process.
fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| {
        format!(
            "{} {} {}",
            host(),
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        )
    })
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().replace(' ', "_"))
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// A held lock; refreshed until dropped, then removed.
pub struct Held {
    path: PathBuf,
    refresher: CancellationToken,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.refresher.cancel();
        if std::fs::read_to_string(&self.path).is_ok_and(|h| h == holder()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Takes `dir`'s lock unless someone alive holds it (this process included).
pub fn take(dir: &Path) -> std::io::Result<Option<Held>> {
    let path = dir.join(LOCK);
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(holder().as_bytes())?;
                return Ok(Some(hold(path)));
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                if !abandoned(&path) {
                    return Ok(None);
                }
                tracing::info!(lock = %path.display(), "taking over an abandoned recording lock");
                let _ = std::fs::remove_file(&path);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

fn abandoned(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        // Gone meanwhile: try again.
        return true;
    };
    if text == holder() {
        return false;
    }
    let mut ours = holder().split(' ');
    let mut theirs = text.split(' ');
    let (our_host, our_pid) = (ours.next(), ours.next());
    let (their_host, their_pid) = (theirs.next(), theirs.next());
    if our_host == their_host {
        let running = their_pid
            .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()) && !pid.is_empty())
            .is_some_and(|pid| Path::new("/proc").join(pid).exists());
        if !running || their_pid == our_pid {
            return true;
        }
    }
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|at| SystemTime::now().duration_since(at).unwrap_or_default() > STALE_AFTER)
        .unwrap_or(true)
}

fn hold(path: PathBuf) -> Held {
    let refresher = CancellationToken::new();
    let (token, file) = (refresher.clone(), path.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(REFRESH_EVERY) => {}
            }
            // Rewriting the same bytes moves the mtime other nodes judge staleness by.
            let _ = tokio::fs::write(&file, holder()).await;
        }
    });
    Held { path, refresher }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_lock_is_refused_to_this_process_and_freed_when_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = take(dir.path()).expect("io").expect("free");
        assert!(take(dir.path()).expect("io").is_none());
        drop(first);
        assert!(take(dir.path()).expect("io").is_some());
    }

    #[tokio::test]
    async fn a_lock_of_a_process_that_is_gone_is_taken_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        // pid 0 never names a running process.
        std::fs::write(dir.path().join(LOCK), format!("{} 0 gone", host())).expect("write");
        assert!(take(dir.path()).expect("io").is_some());
    }

    #[tokio::test]
    async fn a_fresh_lock_of_another_host_is_respected() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(LOCK), "another-host 1 x").expect("write");
        assert!(take(dir.path()).expect("io").is_none());
    }
}
