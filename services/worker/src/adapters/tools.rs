//! Running ffmpeg, ffprobe and Shaka Packager: argv only (never a shell), an environment
//! holding `PATH` alone (the worker's own variables carry storage and queue credentials), stdin
//! closed, killed with the job, stderr kept to its last lines for a failure's log.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, Command},
};

/// What a failed tool run left for the logs.
#[derive(Debug, thiserror::Error)]
#[error("{program} {status}: {stderr_tail}")]
pub struct ToolError {
    pub program: String,
    pub status: String,
    /// The last lines of stderr, bounded.
    pub stderr_tail: String,
}

/// Stderr kept from a run: enough for ffmpeg's reason, never a flood.
const STDERR_KEEP: usize = 4096;
/// A probe report larger than this is not one ffprobe writes for a sane file.
const MAX_STDOUT: usize = ferrocast_media::vod::probe::MAX_REPORT_BYTES;

/// `program` started with `args`, stdout and stderr piped.
fn spawn(program: &Path, args: &[OsString]) -> Result<Child, ToolError> {
    Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failure(program, "did not start", e.to_string()))
}

fn failure(program: &Path, status: impl Into<String>, stderr_tail: String) -> ToolError {
    ToolError {
        program: name(program),
        status: status.into(),
        stderr_tail,
    }
}

fn name(program: &Path) -> String {
    program.file_name().map_or_else(
        || program.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Runs `program` to its end; `Ok(stdout)` (bounded) when it exits 0, or `keep_failed_stdout`
/// is set (ffprobe exits 1 on what is not media and still prints a report worth reading).
pub async fn output(
    program: &Path,
    args: &[OsString],
    keep_failed_stdout: bool,
) -> Result<Vec<u8>, ToolError> {
    let mut child = spawn(program, args)?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let read_out = async {
        let mut buffer = Vec::new();
        stdout
            .take(MAX_STDOUT as u64 + 1)
            .read_to_end(&mut buffer)
            .await
            .map(|_| buffer)
    };
    let (out, err, status) = tokio::join!(read_out, tail(stderr), child.wait());
    let status = status.map_err(|e| failure(program, "could not be waited for", e.to_string()))?;
    if status.success() || keep_failed_stdout {
        return Ok(out.unwrap_or_default());
    }
    Err(failure(program, status.to_string(), err))
}

/// Runs ffmpeg with `-progress pipe:1`, calling `on_line` with each stdout line.
pub async fn with_progress(
    program: &Path,
    args: &[OsString],
    mut on_line: impl FnMut(&str),
) -> Result<(), ToolError> {
    let mut child = spawn(program, args)?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = tokio::spawn(tail(child.stderr.take().expect("piped")));
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        on_line(&line);
    }
    let status = child
        .wait()
        .await
        .map_err(|e| failure(program, "could not be waited for", e.to_string()))?;
    let err = stderr.await.unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(failure(program, status.to_string(), err))
}

/// The last [`STDERR_KEEP`] bytes of a stream, read to its end.
async fn tail(stream: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut reader = BufReader::new(stream);
    let mut kept: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > 2 * STDERR_KEEP {
                    kept.drain(..kept.len() - STDERR_KEEP);
                }
            }
        }
    }
    if kept.len() > STDERR_KEEP {
        kept.drain(..kept.len() - STDERR_KEEP);
    }
    String::from_utf8_lossy(&kept).trim().to_owned()
}

/// The tools a job runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub packager: PathBuf,
}

impl Tools {
    /// Whether each tool starts (`-version`), naming the first that does not.
    pub async fn check(&self) -> Result<(), ToolError> {
        for (program, flag) in [
            (&self.ffmpeg, "-version"),
            (&self.ffprobe, "-version"),
            (&self.packager, "--version"),
        ] {
            output(program, &[OsString::from(flag)], false).await?;
        }
        Ok(())
    }
}
