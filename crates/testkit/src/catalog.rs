//! The catalogue for a test: a database of its own on PostgreSQL, a bucket of its own on the S3
//! server, a NATS server of its own, the service in-process on port 0 against a users service
//! the test started.

use std::net::SocketAddr;

use anyhow::Context;
use ferrocast_catalog::{adapters::s3::S3Objects, Config};
use tokio_util::sync::CancellationToken;

use crate::{nats::Nats, ObjectStorage, Postgres};

pub struct Catalog {
    pub postgres: Postgres,
    pub storage: ObjectStorage,
    /// The job queue of this catalogue alone (a worker a test starts takes jobs from it).
    pub nats: Nats,
    pub config: Config,
    pub http_addr: SocketAddr,
    shutdown: CancellationToken,
    running: Option<ferrocast_catalog::Running>,
}

impl Catalog {
    /// The catalogue with its test config (`Config::for_tests`).
    pub async fn start(users_grpc_url: &str) -> anyhow::Result<Self> {
        Self::start_with(users_grpc_url, |_| {}).await
    }

    /// The catalogue with its test config changed by `adjust` first.
    pub async fn start_with(
        users_grpc_url: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        Self::start_on(ObjectStorage::start().await?, users_grpc_url, adjust).await
    }

    /// The catalogue on `storage` (e.g. a server of the test's own, which it may kill).
    pub async fn start_on(
        storage: ObjectStorage,
        users_grpc_url: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let postgres = Postgres::start().await?;
        let nats = Nats::start().await?;
        let mut config = Config::for_tests(
            postgres.url(),
            storage.fresh_bucket(),
            users_grpc_url,
            nats.url(),
            crate::platform::SERVICE_TOKEN,
        );
        config.playback.redis_url = crate::redis_url();
        config.playback.key_prefix = crate::unique_name("ferrocast-test-playback:") + ":";
        adjust(&mut config);
        let shutdown = CancellationToken::new();
        let running = ferrocast_catalog::start(config.clone(), shutdown.clone())
            .await
            .context("catalog starts")?;
        Ok(Self {
            postgres,
            storage,
            nats,
            config,
            http_addr: running.http_addr,
            shutdown,
            running: Some(running),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http_addr)
    }

    /// The service's own view of its bucket, for checks of what is stored.
    pub fn objects(&self) -> S3Objects {
        S3Objects::new(&self.config.storage)
    }

    /// Stops the service and waits until it has.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running.wait().await;
        }
    }
}

impl Drop for Catalog {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
