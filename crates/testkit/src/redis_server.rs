//! A redis-server of the test's own on a free port, so a test can kill and restart it without
//! touching the shared Redis other engineers' tests use.

use std::{process::Stdio, time::Duration};

use anyhow::Context;
use tokio::process::Child;

use crate::{free_port, wait_until_listening};

pub struct RedisServer {
    port: u16,
    process: Option<Child>,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` without persistence: a restart loses every key, like a crash of a
    /// cache-only Redis.
    pub async fn start() -> anyhow::Result<Self> {
        let mut server = Self {
            port: free_port(),
            process: None,
            _dir: tempfile::tempdir()?,
        };
        server.launch().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self._dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server (Debian package redis-server)")?;
        self.process = Some(child);
        wait_until_listening(self.port, "redis-server", Duration::from_secs(10)).await
    }

    /// SIGKILL: every key is gone.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.process.take() {
            child.kill().await?;
        }
        Ok(())
    }

    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.launch().await
    }
}
