//! One ffmpeg child process: spawned from an argv list (no shell), FLV written to its stdin, its
//! stderr forwarded to tracing, and killed when dropped so a dying pipeline never leaves an
//! orphan ffmpeg behind.
//!
//! Its stderr is also watched for failures a restart cannot cure: ffmpeg does not exit when its
//! output disk is full, so "No space left on device" is reported to the pipeline
//! ([`Ffmpeg::unrecoverable`]) instead of waiting for the stall watchdog and a useless restart.

use std::{
    ffi::OsString,
    path::Path,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, Command},
    sync::watch,
    task::JoinHandle,
};

use super::{fifo::HeldPipe, outputs::NO_SPACE};

/// The cause of an ffmpeg stderr line that no restart can cure, if it is one. ENOSPC is printed
/// through `strerror`, so the English text is all there is to recognise.
pub fn unrecoverable_cause(line: &str) -> Option<&'static str> {
    line.to_ascii_lowercase()
        .contains("no space left on device")
        .then_some(NO_SPACE)
}

/// A command for `program` with a cleared environment: ffmpeg decodes what publishers send, so
/// it must not hold the service token or anything else of the ingest's. It keeps `PATH` alone
/// (to find `program` and its helpers); without `LANG` its messages stay in English, which
/// [`unrecoverable_cause`] reads.
pub fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

pub struct Ffmpeg {
    pub child: Child,
    stdin: Option<ChildStdin>,
    last_line: Arc<Mutex<String>>,
    /// The first unrecoverable failure ffmpeg reported, with its line (see [`NO_SPACE`]).
    unrecoverable: watch::Receiver<Option<String>>,
    stderr_task: JoinHandle<()>,
    /// Write ends of the FIFOs it writes rungs to, released when it is gone (see `relay`).
    held_pipes: Vec<HeldPipe>,
}

impl Ffmpeg {
    pub fn spawn(program: &Path, args: &[OsString], session_id: &str) -> std::io::Result<Self> {
        let mut child = command(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C meant for the ingest must not end ffmpeg behind
            // the pipeline's back (the pipeline stops it itself, closing the playlists).
            .process_group(0)
            .spawn()?;
        let stdin = child.stdin.take();
        let last_line = Arc::new(Mutex::new(String::new()));
        let (report, unrecoverable) = watch::channel(None);
        let stderr_task = match child.stderr.take() {
            Some(stderr) => {
                let last_line = last_line.clone();
                let session_id = session_id.to_owned();
                // Ends by itself at EOF, i.e. when the child exits; aborted on drop otherwise.
                tokio::spawn(async move {
                    let mut lines = BufReader::new(stderr).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        tracing::debug!(target: "ffmpeg", %session_id, "{line}");
                        if let Some(cause) = unrecoverable_cause(&line) {
                            // The first report wins: later lines are consequences of it.
                            report.send_if_modified(|reported| {
                                if reported.is_some() {
                                    return false;
                                }
                                *reported = Some(format!("{cause} (ffmpeg: {line})"));
                                true
                            });
                        }
                        *last_line.lock().unwrap_or_else(PoisonError::into_inner) = line;
                    }
                })
            }
            None => tokio::spawn(async {}),
        };
        Ok(Self {
            child,
            stdin,
            last_line,
            unrecoverable,
            stderr_task,
            held_pipes: Vec::new(),
        })
    }

    /// Keeps `pipes` open until this ffmpeg is known to be gone.
    pub fn hold(&mut self, pipes: Vec<HeldPipe>) {
        self.held_pipes = pipes;
    }

    /// The unrecoverable failure ffmpeg reported so far, if any.
    pub fn unrecoverable(&self) -> Option<String> {
        self.unrecoverable.borrow().clone()
    }

    /// Resolves when ffmpeg reports an unrecoverable failure; pending forever otherwise. Owns
    /// its receiver, so it can be awaited next to `child.wait()`.
    pub fn unrecoverable_reported(&self) -> impl std::future::Future<Output = String> + 'static {
        let mut reports = self.unrecoverable.clone();
        async move {
            // Cloned out at once: the borrow guard must not live across the await below.
            let reported = reports
                .wait_for(Option::is_some)
                .await
                .map(|reported| reported.clone());
            match reported {
                Ok(reported) => reported.unwrap_or_default(),
                // stderr closed without a report: ffmpeg's exit is handled elsewhere.
                Err(_) => std::future::pending().await,
            }
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Writes all of `bytes`, or fails within `timeout` (ffmpeg stopped reading).
    pub async fn write(&mut self, bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        match tokio::time::timeout(timeout, stdin.write_all(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "ffmpeg stopped reading its input",
            )),
        }
    }

    /// The last line ffmpeg printed (its error message when it fails).
    pub fn last_line(&self) -> String {
        self.last_line
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Describes how the process ended, with its last words.
    pub fn describe_exit(&self, status: Option<ExitStatus>) -> String {
        let status = status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
        match self.last_line() {
            line if line.is_empty() => format!("ffmpeg exited ({status})"),
            line => format!("ffmpeg exited ({status}): {line}"),
        }
    }

    /// Closes stdin so ffmpeg finishes its outputs (playlists get `#EXT-X-ENDLIST`), waits up to
    /// `timeout`, then kills it. Returns the exit status when known.
    pub async fn stop(&mut self, timeout: Duration) -> Option<ExitStatus> {
        drop(self.stdin.take());
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                tracing::warn!(pid = ?self.pid(), "ffmpeg did not finish in time; killing it");
                let _ = self.child.start_kill();
                self.child.wait().await.ok()
            }
        };
        self.held_pipes.clear();
        // Let the last stderr lines reach the log before they are lost.
        let _ = tokio::time::timeout(Duration::from_millis(200), &mut self.stderr_task).await;
        status
    }

    /// Kills the process (used when it stopped reading) and reaps it.
    pub async fn kill(&mut self) -> Option<ExitStatus> {
        // Kill before closing stdin, or ffmpeg could exit cleanly on EOF in between.
        let _ = self.child.start_kill();
        drop(self.stdin.take());
        let status = self.child.wait().await.ok();
        self.held_pipes.clear();
        status
    }
}

impl Drop for Ffmpeg {
    fn drop(&mut self) {
        self.stderr_task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_lines_are_recognised_whatever_ffmpeg_was_writing() {
        for line in [
            "av_interleaved_write_frame(): No space left on device",
            "[hls @ 0x55d14af10780] Failed to open file 'x_00007.ts.tmp': No space left on device",
            "Error writing trailer of /hls/a/b/%v/index.m3u8: No space left on device",
            "[file @ 0x5600] Error writing: NO SPACE LEFT ON DEVICE",
        ] {
            assert_eq!(unrecoverable_cause(line), Some(NO_SPACE), "{line}");
        }
    }

    #[tokio::test]
    async fn children_see_path_and_nothing_else_of_the_ingests_environment() {
        // The test process has plenty (CARGO_*, HOME, FERROCAST_TEST_*): none may reach a child.
        assert!(std::env::vars().count() > 1);
        let output = command(Path::new("env"))
            .output()
            .await
            .expect("env runs from PATH");
        let names: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
            .collect();
        assert_eq!(names, ["PATH"]);
    }

    #[test]
    fn other_errors_are_left_to_the_restart_budget() {
        for line in [
            "",
            "pipe:0: Input/output error",
            "[flv @ 0x5600] Packet mismatch 123 456 0",
            "Conversion failed!",
            "[hls @ 0x5600] Opening 'x_00003.ts' for writing",
        ] {
            assert_eq!(unrecoverable_cause(line), None, "{line}");
        }
    }

    #[tokio::test]
    async fn an_enospc_line_on_stderr_is_reported_once_while_ffmpeg_runs_on() {
        let script = "echo 'frame=1' >&2; \
            echo 'av_interleaved_write_frame(): No space left on device' >&2; \
            echo 'Error writing trailer: No space left on device' >&2; exec sleep 30";
        let args = ["-c".into(), script.into()];
        let mut ffmpeg = Ffmpeg::spawn(Path::new("/bin/sh"), &args, "test").expect("sh spawns");
        let reported =
            tokio::time::timeout(Duration::from_secs(5), ffmpeg.unrecoverable_reported())
                .await
                .expect("reported while the process still runs");
        assert_eq!(
            reported,
            format!("{NO_SPACE} (ffmpeg: av_interleaved_write_frame(): No space left on device)")
        );
        assert_eq!(ffmpeg.unrecoverable(), Some(reported));
        assert!(ffmpeg.kill().await.is_some());
    }

    #[tokio::test]
    async fn an_ordinary_exit_reports_nothing_unrecoverable() {
        let args = ["-c".into(), "echo 'Conversion failed!' >&2; exit 1".into()];
        let mut ffmpeg = Ffmpeg::spawn(Path::new("/bin/sh"), &args, "test").expect("sh spawns");
        let status = ffmpeg.stop(Duration::from_secs(5)).await;
        assert!(status.is_some_and(|s| !s.success()));
        assert_eq!(ffmpeg.unrecoverable(), None);
        let pending =
            tokio::time::timeout(Duration::from_millis(200), ffmpeg.unrecoverable_reported()).await;
        assert!(pending.is_err(), "no report ever resolves");
    }
}
