//! A SeaweedFS sized for the upload benchmark. The test kit's own server is a test's: 20
//! volumes of 64 MB, 1.28 GB in all, and SeaweedFS frees deleted bytes only when it compacts a
//! volume, so a few 1 GiB uploads would fill it. This one has 1 GiB volumes and room for 64 of
//! them (sparse files: only what is written takes disk). It is handed to the test kit through
//! the variables a CI runner uses to share its server (`FERROCAST_TEST_S3_*`), and stopped with
//! the value (SIGINT: SeaweedFS ignores SIGTERM for a long while).

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{ensure, Context};
use ferrocast_testkit::{free_port, unique_name, weed_binary};

pub struct Weed {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    grpc_ports: [u16; 4],
    process: Child,
    _dir: tempfile::TempDir,
}

impl Weed {
    /// Starts it and waits until it answers (blocking: it runs before the async runtime, which
    /// must not exist yet when the variables are set).
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let access_key = unique_name("AK").to_uppercase();
        let secret_key = uuid::Uuid::new_v4().simple().to_string();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"bench","credentials":[{{"accessKey":"{access_key}","secretKey":"{secret_key}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )?;
        std::fs::create_dir(dir.path().join("data"))?;
        let ports: [u16; 8] = std::array::from_fn(|_| free_port());
        let [master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc] = ports;
        let path = |name: &str| dir.path().join(name).display().to_string();
        let process = Command::new(weed_binary())
            .args(["-logtostderr", "server"])
            .arg(format!("-dir={}", path("data")))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .args([
                "-master.volumeSizeLimitMB=1024",
                "-master.electionTimeout=1s",
            ])
            .args([
                "-master.telemetry=false",
                "-volume.max=64",
                "-volume.preStopSeconds=0",
            ])
            .arg(format!("-master.port={master}"))
            .arg(format!("-master.port.grpc={master_grpc}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-volume.port.grpc={volume_grpc}"))
            .arg("-filer")
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-filer.port.grpc={filer_grpc}"))
            .arg(format!("-filer.localSocket={}", path("filer.sock")))
            .arg("-s3")
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-s3.port.grpc={s3_grpc}"))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.localSocket={}", path("s3.sock")))
            .arg(format!("-s3.config={}", config.display()))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", weed_binary().display()))?;
        let weed = Self {
            endpoint: format!("http://127.0.0.1:{s3}"),
            access_key,
            secret_key,
            grpc_ports: [master_grpc, volume_grpc, filer_grpc, s3_grpc],
            process,
            _dir: dir,
        };
        // The S3 port listens about a second before requests work: a signed request is the test.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !weed.answers_signed_request() {
            ensure!(
                Instant::now() < deadline,
                "SeaweedFS did not answer a signed ListBuckets at {} within 60 s",
                weed.endpoint
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(weed)
    }

    /// A signed ListBuckets by curl, the keys on its stdin (never on a command line).
    fn answers_signed_request(&self) -> bool {
        let child = Command::new("curl")
            .args(["-fsS", "-o", "/dev/null", "--max-time", "2"])
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "-K", "-"])
            .arg(format!("{}/", self.endpoint))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        if let Some(mut stdin) = child.stdin.take() {
            let config = format!("user = \"{}:{}\"\n", self.access_key, self.secret_key);
            if stdin.write_all(config.as_bytes()).is_err() {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
        matches!(child.wait(), Ok(status) if status.success())
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.process.id().to_string()])
            .stderr(Stdio::null())
            .status();
        for _ in 0..100 {
            if matches!(self.process.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
        // Its gRPC listeners make unix sockets in /tmp named after their ports.
        for (kind, port) in ["master", "volume", "filer", "s3"]
            .iter()
            .zip(self.grpc_ports)
        {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{kind}-grpc-{port}.sock"));
        }
    }
}
