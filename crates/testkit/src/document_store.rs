//! A real MongoDB-compatible server for tests: SecantusDB (`secantusd-py`) started as a separate
//! process on a free port, because no MongoDB server installs from this platform's registries.
//! Nothing in the services is SecantusDB-specific: they only see a `mongodb://` URL.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context;
use tokio::process::Child;

use super::{free_port, unique_name, wait_until_listening, workspace_root};

/// A document store for one test (or a shared one named by `FERROCAST_TEST_MONGODB_URL`).
pub struct DocumentStore {
    url: String,
    port: u16,
    process: Option<Child>,
    storage: Storage,
    database: String,
}

enum Storage {
    Memory,
    Disk(tempfile::TempDir),
    External,
}

impl DocumentStore {
    /// A throw-away store: the shared one if the runner gave one, else an in-memory server.
    pub async fn start() -> anyhow::Result<Self> {
        // An empty value means "not given", as it does for the shell that exported it.
        if let Some(url) = std::env::var("FERROCAST_TEST_MONGODB_URL")
            .ok()
            .filter(|url| !url.is_empty())
        {
            return Ok(Self {
                url,
                port: 0,
                process: None,
                storage: Storage::External,
                database: unique_name("t_"),
            });
        }
        Self::spawn(Storage::Memory).await
    }

    /// A store of its own with data on disk, which [`restart`](Self::restart) keeps.
    pub async fn start_persistent() -> anyhow::Result<Self> {
        Self::spawn(Storage::Disk(tempfile::tempdir()?)).await
    }

    async fn spawn(storage: Storage) -> anyhow::Result<Self> {
        let port = free_port();
        let mut store = Self {
            url: format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=2000&connectTimeoutMS=2000"),
            port,
            process: None,
            storage,
            database: unique_name("t_"),
        };
        store.launch().await?;
        Ok(store)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let storage_path = match &self.storage {
            Storage::Memory => ":memory:".to_owned(),
            Storage::Disk(dir) => dir.path().display().to_string(),
            Storage::External => anyhow::bail!("an external store is not ours to start"),
        };
        let child = tokio::process::Command::new(secantusd_binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--storage-path", &storage_path, "--standalone"])
            .args(["--log-level", "WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (run `./ferrocast test` or `./ferrocast setup` to install it)",
                    secantusd_binary().display()
                )
            })?;
        self.process = Some(child);
        wait_until_listening(self.port, "document store", Duration::from_secs(20)).await
    }

    /// Connection URL (no database in the path; use [`database`](Self::database)).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A database name unique to this test.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Stops the server (SIGKILL: the harshest outage), e.g. to test how services ride it out.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.process.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and storage.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.launch().await
    }
}

/// `FERROCAST_SECANTUSD`, else the project-local virtualenv that `./ferrocast` installs.
pub fn secantusd_binary() -> PathBuf {
    std::env::var_os("FERROCAST_SECANTUSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".ferrocast/venv/bin/secantusd-py"))
}
