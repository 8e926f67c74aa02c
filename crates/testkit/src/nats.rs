//! A NATS server with JetStream of the test's own on a free port, its store in a temporary
//! directory: the VOD job queue for tests that kill the queue server mid-job and bring it back
//! (same port, same store, so queued jobs and durable consumers survive as they do in
//! production).
//!
//! The binary is `FERROCAST_NATS_SERVER`, else `nats-server` on PATH, else Debian's
//! `/usr/sbin/nats-server` (a normal user's PATH lacks /usr/sbin).

use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::Context;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpStream,
    process::Child,
};

use crate::{eventually, free_port};

/// How long a (re)started server may take to greet a client; it takes about 0.1 s.
const READY_WITHIN: Duration = Duration::from_secs(10);

pub struct Nats {
    port: u16,
    binary: PathBuf,
    process: Option<Child>,
    dir: tempfile::TempDir,
}

impl Nats {
    /// Starts `nats-server -js` on a free loopback port and waits until it greets clients with
    /// JetStream enabled.
    pub async fn start() -> anyhow::Result<Self> {
        let mut server = Self {
            port: free_port(),
            binary: nats_server_binary()?,
            process: None,
            dir: tempfile::tempdir()?,
        };
        server.launch().await?;
        Ok(server)
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Whether the server greets a new client with an INFO line that says JetStream runs. It
    /// sends that line before the client says anything, so this needs no NATS client.
    pub async fn answers(&self) -> bool {
        let greeting = async {
            let stream = TcpStream::connect(("127.0.0.1", self.port)).await.ok()?;
            let mut line = String::new();
            BufReader::new(stream).read_line(&mut line).await.ok()?;
            Some(line)
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), greeting).await,
            Ok(Some(line)) if line.starts_with("INFO ") && line.contains(r#""jetstream":true"#)
        )
    }

    /// SIGKILL, like a crash: nothing is flushed beyond what JetStream already wrote.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.process.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Kills the server if it runs, then starts it again on the same port with the same store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill().await?;
        self.launch().await
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let log_path = self.dir.path().join("nats-server.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let child = tokio::process::Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(self.dir.path().join("store"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (Debian package nats-server)",
                    self.binary.display()
                )
            })?;
        self.process = Some(child);
        if eventually(READY_WITHIN, || self.answers()).await {
            return Ok(());
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        anyhow::bail!(
            "nats-server did not answer with JetStream on port {} within {READY_WITHIN:?}; its log:\n{log}",
            self.port
        )
    }
}

/// `FERROCAST_NATS_SERVER`, else `nats-server` on PATH, else `/usr/sbin/nats-server`.
fn nats_server_binary() -> anyhow::Result<PathBuf> {
    if let Some(binary) = std::env::var_os("FERROCAST_NATS_SERVER").filter(|b| !b.is_empty()) {
        return Ok(PathBuf::from(binary));
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file());
    let debian = Path::new("/usr/sbin/nats-server");
    on_path
        .or_else(|| debian.is_file().then(|| debian.to_path_buf()))
        .context("nats-server not found on PATH or in /usr/sbin (Debian package nats-server; run ./ferrocast setup)")
}
