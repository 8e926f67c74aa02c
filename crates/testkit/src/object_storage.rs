//! S3 object storage for tests: the SeaweedFS the runner started for the whole run
//! (`FERROCAST_TEST_S3_ENDPOINT`, `_ACCESS_KEY`, `_SECRET_KEY`), else a `weed server` of the
//! test's own, which the test may kill and restart on the same port and data (storage outages).
//! SeaweedFS is a real S3 server (it verifies signed checksums on presigned PUTs), which moto
//! or rclone are not. Each test works in a bucket of its own
//! ([`ObjectStorage::fresh_bucket_name`]).

use std::{
    io::Write,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context;

use crate::{free_port, unique_name, workspace_root};

/// The region every SeaweedFS accepts; the signature needs one.
const REGION: &str = "us-east-1";

/// An S3 endpoint and credentials that may create buckets.
pub struct ObjectStorage {
    endpoint: String,
    access_key: String,
    secret_key: String,
    server: Option<Weed>,
}

impl ObjectStorage {
    /// The shared server if the runner gave one, else a server of this test's own.
    pub async fn start() -> anyhow::Result<Self> {
        let shared = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if let (Some(endpoint), Some(access_key), Some(secret_key)) = (
            shared("FERROCAST_TEST_S3_ENDPOINT"),
            shared("FERROCAST_TEST_S3_ACCESS_KEY"),
            shared("FERROCAST_TEST_S3_SECRET_KEY"),
        ) {
            return Ok(Self {
                endpoint,
                access_key,
                secret_key,
                server: None,
            });
        }
        Self::start_own_server().await
    }

    /// A `weed server` of this test's own, data in a temporary directory, stopped with the
    /// value: for a test that stops the storage, or that must not depend on the shared one.
    pub async fn start_own_server() -> anyhow::Result<Self> {
        let access_key = unique_name("AK").to_uppercase();
        let secret_key = uuid::Uuid::new_v4().simple().to_string();
        let server = Weed::start(&access_key, &secret_key)?;
        let storage = Self {
            endpoint: format!("http://127.0.0.1:{}", server.s3_port()),
            access_key,
            secret_key,
            server: Some(server),
        };
        storage.ready().await?;
        Ok(storage)
    }

    /// SIGKILLs the test's own server, as a crash or a lost host would stop it: every request
    /// fails until [`Self::restart`]. An error for the runner's shared server, which other
    /// tests use.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.own_server()?.kill();
        Ok(())
    }

    /// Starts the killed server again on the same ports with the same data (buckets and
    /// objects written before the kill are there), and waits until it answers.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let server = self.own_server()?;
        server.kill();
        server.launch()?;
        let master = server.ports[0];
        self.ready().await?;
        volumes_located(master).await
    }

    fn own_server(&mut self) -> anyhow::Result<&mut Weed> {
        self.server.as_mut().context(
            "the runner's shared SeaweedFS cannot be stopped; use ObjectStorage::start_own_server",
        )
    }

    /// Waits until a signed request works: the S3 port listens about a second before that.
    async fn ready(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !self.answers_signed_request().await {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "SeaweedFS did not answer a signed ListBuckets at {} within 60 s",
                self.endpoint
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// `http://127.0.0.1:PORT`; path-style addressing (the bucket is the first path segment).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The region to sign for.
    pub fn region(&self) -> &str {
        REGION
    }

    /// A bucket name no other test uses, valid for S3 (lowercase letters, digits, hyphens). The
    /// bucket is not created: the service under test creates its own.
    pub fn fresh_bucket_name(&self) -> String {
        unique_name("test-")
    }

    /// The services' storage section for a fresh bucket of this server (made by the service
    /// that first uses it).
    #[cfg(feature = "storage")]
    pub fn fresh_bucket(&self) -> ferrocast_kit::config::storage::Storage {
        use ferrocast_kit::config::Secret;
        ferrocast_kit::config::storage::Storage {
            endpoint: self.endpoint.clone(),
            public_endpoint: None,
            region: self.region().to_owned(),
            bucket: self.fresh_bucket_name(),
            access_key: Some(Secret::new(self.access_key.clone())),
            secret_key: Some(Secret::new(self.secret_key.clone())),
        }
    }

    /// Whether a SigV4-signed ListBuckets succeeds. curl signs it (`--aws-sigv4`), reading the
    /// keys from its config on stdin, never from argv.
    async fn answers_signed_request(&self) -> bool {
        let config = format!("user = \"{}:{}\"\n", self.access_key, self.secret_key);
        let child = tokio::process::Command::new("curl")
            .args(["-fsS", "-o", "/dev/null", "--max-time", "2"])
            .args(["--aws-sigv4", &format!("aws:amz:{REGION}:s3"), "-K", "-"])
            .arg(format!("{}/", self.endpoint))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        if let Some(mut stdin) = child.stdin.take() {
            use tokio::io::AsyncWriteExt;
            if stdin.write_all(config.as_bytes()).await.is_err() {
                return false;
            }
        }
        matches!(child.wait().await, Ok(status) if status.success())
    }
}

/// Waits until the master of a restarted server knows a volume server: the S3 API answers
/// before that, but reading an object written before the restart fails until its volume can be
/// located.
async fn volumes_located(master: u16) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{master}/dir/status");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = reqwest::get(&url).await {
            if let Ok(status) = response.text().await {
                if names_a_data_node(&status) {
                    return Ok(());
                }
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "SeaweedFS's master at {url} knew no volume server within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the master's `/dir/status` lists a data node (`"DataNodes": [{…`).
fn names_a_data_node(status: &str) -> bool {
    status.match_indices("\"DataNodes\"").any(|(at, name)| {
        let rest = status[at + name.len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            return false;
        };
        let Some(rest) = rest.trim_start().strip_prefix('[') else {
            return false;
        };
        rest.trim_start().starts_with('{')
    })
}

/// One volume for a bucket (a collection) when it first takes data, not seven, as
/// scripts/lib.sh sets for the run's shared server: each volume takes one of the server's
/// slots, and past them every put fails with InternalError.
const MASTER_TOML: &str =
    "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n";

/// `weed server` with master, volume, filer and S3, every port given: the defaults include
/// 8080 (the gateway's) and fixed gRPC ports two instances would share. The ports and the data
/// folder are kept, so a killed server comes back as the same endpoint with the same objects.
struct Weed {
    /// master, master gRPC, volume, volume gRPC, filer, filer gRPC, S3, S3 gRPC.
    ports: [u16; 8],
    process: Option<Child>,
    dir: tempfile::TempDir,
}

impl Weed {
    fn start(access_key: &str, secret_key: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("s3.json");
        write_private(
            &config,
            &format!(
                r#"{{"identities":[{{"name":"test","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )?;
        std::fs::create_dir(dir.path().join("data"))?;
        std::fs::write(dir.path().join("master.toml"), MASTER_TOML)?;
        let mut weed = Self {
            ports: std::array::from_fn(|_| free_port()),
            process: None,
            dir,
        };
        weed.launch()?;
        Ok(weed)
    }

    fn s3_port(&self) -> u16 {
        self.ports[6]
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let [master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc] = self.ports;
        let dir = self.dir.path();
        let port = |flag: &str, port: u16| format!("-{flag}={port}");
        let path = |flag: &str, name: &str| format!("-{flag}={}", dir.join(name).display());
        let process = Command::new(weed_binary())
            .args(["-logtostderr", "server"])
            .arg(path("dir", "data"))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .args(["-master.volumeSizeLimitMB=64", "-master.electionTimeout=1s"])
            .args([
                "-master.telemetry=false",
                "-volume.max=200",
                "-volume.preStopSeconds=0",
            ])
            .args([
                port("master.port", master),
                port("master.port.grpc", master_grpc),
            ])
            .args([
                port("volume.port", volume),
                port("volume.port.grpc", volume_grpc),
            ])
            .arg("-filer")
            .args([
                port("filer.port", filer),
                port("filer.port.grpc", filer_grpc),
            ])
            .arg(path("filer.localSocket", "filer.sock"))
            .arg("-s3")
            .args([port("s3.port", s3), port("s3.port.grpc", s3_grpc)])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(path("s3.localSocket", "s3.sock"))
            .arg(path("s3.config", "s3.json"))
            // Where it reads master.toml.
            .current_dir(dir)
            // No environment of ours: its keys are in the config file.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (run `./ferrocast setup` to install SeaweedFS)",
                    weed_binary().display()
                )
            })?;
        self.process = Some(process);
        Ok(())
    }

    /// SIGKILL, and the unix sockets its gRPC listeners made in /tmp (named after their
    /// ports), which a server started again on those ports would otherwise find taken.
    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
        self.remove_sockets();
    }

    fn remove_sockets(&self) {
        let [_, master_grpc, _, volume_grpc, _, filer_grpc, _, s3_grpc] = self.ports;
        for (kind, port) in [
            ("master", master_grpc),
            ("volume", volume_grpc),
            ("filer", filer_grpc),
            ("s3", s3_grpc),
        ] {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{kind}-grpc-{port}.sock"));
        }
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        // SIGINT is how SeaweedFS stops (SIGTERM leaves it running); its graceful stop can take
        // 15 s, too long to wait for a throw-away server.
        let _ = Command::new("kill")
            .args(["-INT", &process.id().to_string()])
            .stderr(Stdio::null())
            .status();
        for _ in 0..20 {
            if matches!(process.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = process.kill();
        let _ = process.wait();
        self.remove_sockets();
    }
}

/// Writes a file only this user can read.
fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// `FERROCAST_WEED`, else the project-local virtualenv that `./ferrocast` installs.
pub fn weed_binary() -> PathBuf {
    std::env::var_os("FERROCAST_WEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".ferrocast/venv/bin/weed"))
}

#[cfg(test)]
mod tests {
    use super::names_a_data_node;

    #[test]
    fn a_data_node_is_seen_only_once_the_master_lists_one() {
        let known = r#"{"Topology":{"DataCenters":[{"Id":"DefaultDataCenter","Racks":[{"Id":"DefaultRack","DataNodes":[{"Url":"127.0.0.1:8081","Volumes":3}]}]}]}}"#;
        assert!(names_a_data_node(known));
        assert!(names_a_data_node(r#"{"DataNodes" : [ {"Url":"a"}]}"#));
        for none in [
            r#"{"Topology":{"DataCenters":[]}}"#,
            r#"{"Racks":[{"DataNodes":[]}]}"#,
            r#"{"DataNodes":null}"#,
            "",
        ] {
            assert!(!names_a_data_node(none), "{none}");
        }
    }
}
