//! PostgreSQL for tests: a fresh database per test on a server that lets us create databases.
//! The server is the one the runner names (`FERROCAST_TEST_POSTGRES_URL`), else the local one on
//! 127.0.0.1:5432 when `postgres` may create databases there without a password, else a
//! throw-away cluster of the test's own (initdb on a free port, no fsync). PostgreSQL refuses to
//! run as root, so under root that cluster runs as the `postgres` system user that Debian's
//! `postgresql` package creates.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};

use crate::{free_port, unique_name};

/// The server a machine like CI's already runs.
const LOCAL_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of this test's own; dropped (best effort) with the value.
pub struct Postgres {
    server_url: String,
    url: String,
    database: String,
    // Dropped after the database: when the server is ours it goes with it.
    cluster: Option<Cluster>,
}

impl Postgres {
    /// A fresh, uniquely named database on the shared server (see the module docs).
    pub async fn start() -> anyhow::Result<Self> {
        // An empty value means "not given", as it does for the shell that exported it.
        if let Some(url) = std::env::var("FERROCAST_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
        {
            return Self::create_database(url, None).await;
        }
        if can_create_databases(LOCAL_SERVER).await {
            return Self::create_database(LOCAL_SERVER.to_owned(), None).await;
        }
        Self::start_own_server().await
    }

    /// A database on a server of this test's own, which goes away with the value: for a test
    /// that stops the server, or that must not depend on the shared one.
    pub async fn start_own_server() -> anyhow::Result<Self> {
        let cluster = Cluster::start().await?;
        Self::create_database(cluster.url(), Some(cluster)).await
    }

    async fn create_database(server_url: String, cluster: Option<Cluster>) -> anyhow::Result<Self> {
        let database = unique_name("t_");
        let mut connection = PgConnection::connect(&server_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", redacted(&server_url)))?;
        connection
            .execute(format!(r#"CREATE DATABASE "{database}""#).as_str())
            .await
            .context("creating the test database")?;
        connection.close().await.ok();
        let mut url = reqwest::Url::parse(&server_url).context("the PostgreSQL URL")?;
        url.set_path(&format!("/{database}"));
        Ok(Self {
            server_url,
            url: url.into(),
            database,
            cluster,
        })
    }

    /// Connection URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name (`t_` + 12 hex digits).
    pub fn database(&self) -> &str {
        &self.database
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.cluster.is_some() {
            return; // the whole server goes
        }
        // Drop runs inside the test's runtime, which cannot block on itself: the DROP gets a
        // thread and a runtime of its own.
        let server_url = self.server_url.clone();
        let statement = format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.database
        );
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let drop = async {
                    let mut connection = PgConnection::connect(&server_url).await?;
                    connection.execute(statement.as_str()).await?;
                    connection.close().await
                };
                let _ = tokio::time::timeout(Duration::from_secs(10), drop).await;
            });
        });
        let _ = dropping.join();
    }
}

/// Whether `url` answers within a few seconds and its user may create databases.
async fn can_create_databases(url: &str) -> bool {
    let check = async {
        let mut connection = PgConnection::connect(url).await?;
        let allowed: bool = sqlx::query_scalar(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&mut connection)
        .await?;
        connection.close().await?;
        Ok::<_, sqlx::Error>(allowed)
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), check).await,
        Ok(Ok(true))
    )
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.into()
        }
        _ => url.to_owned(),
    }
}

/// A PostgreSQL cluster in a temporary directory, on a free port, with trust auth on loopback.
/// Durability is off: its data dies with it.
struct Cluster {
    port: u16,
    process: std::process::Child,
    dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> anyhow::Result<Self> {
        let bin = postgres_bin()?;
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        std::fs::create_dir(dir.path().join("sock"))?;
        if running_as_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path()))
            .context("giving the cluster's directory to the postgres user")?;
        }
        run(cluster_owner(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"]))
        .context("initdb (Debian package postgresql; run `./ferrocast setup`)")?;
        let port = free_port();
        let process = cluster_owner(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                dir.path().join("sock").display()
            ))
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting postgres")?;
        let cluster = Self { port, process, dir };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !can_create_databases(&cluster.url()).await {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the test's own PostgreSQL did not answer on port {port} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The postmaster's pid (under root our child is `runuser`, not the server).
    fn postmaster_pid(&self) -> Option<String> {
        let pid_file = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).ok()?;
        pid_file.lines().next().map(str::to_owned)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown: sessions are cut, nothing waits for clients.
        if let Some(pid) = self.postmaster_pid() {
            let kill = |signal: &str| {
                let _ = Command::new("kill")
                    .args([signal, &pid])
                    .stderr(Stdio::null())
                    .status();
            };
            kill("-INT");
            let running = Path::new("/proc").join(&pid);
            for _ in 0..100 {
                if !running.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if running.exists() {
                kill("-KILL");
            }
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A command for the cluster: as the `postgres` user when we are root, with no environment of
/// ours either way (the server needs none of the test's secrets).
fn cluster_owner(program: &Path) -> Command {
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    anyhow::ensure!(
        output.status.success(),
        "{:?} failed: {}",
        command.get_program(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .map(|uid| uid == "0")
        })
        .unwrap_or(false)
}

/// The directory of `initdb` and `postgres`: on PATH, else Debian's newest versioned directory.
fn postgres_bin() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("initdb"))
            .find(|initdb| initdb.is_file())
    });
    let debian = || {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse().ok()?;
                let initdb = entry.path().join("bin/initdb");
                initdb.is_file().then_some((version, initdb))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, initdb)| initdb)
    };
    let initdb = on_path.or_else(debian).context(
        "PostgreSQL's initdb not found (Debian package postgresql; run `./ferrocast setup`)",
    )?;
    let initdb = initdb.canonicalize().unwrap_or(initdb);
    Ok(initdb.parent().map(Path::to_path_buf).unwrap_or_default())
}
