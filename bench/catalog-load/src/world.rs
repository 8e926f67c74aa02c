//! What the benchmarks run against: the users service and the catalogue in this process (the
//! test kit's way), each on a database, a bucket and a SeaweedFS of their own, with the
//! catalogue's production upload settings and the playback figures' session settings, and one
//! signed-in account.

use anyhow::Context;
use ferrocast_testkit::{catalog::Catalog, Options, Platform};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

pub struct World {
    pub platform: Platform,
    pub catalog: Catalog,
    pub token: String,
    pub http: reqwest::Client,
}

impl World {
    /// `part_bytes` is the catalogue's part size; files above it go up in parts (production:
    /// parts of 16 MiB above 64 MiB, so a 1 GiB file takes the same path either way);
    /// `sessions` sets the playback sessions' settings.
    pub async fn start(
        part_bytes: u64,
        largest_upload: u64,
        sessions: fn(&mut ferrocast_catalog::Config),
    ) -> anyhow::Result<Self> {
        let platform = Platform::start(Options::users())
            .await
            .context("the users service starts")?;
        let catalog = Catalog::start_with(&platform.users_grpc_url(), |config| {
            let uploads = &mut config.uploads;
            uploads.max_size = largest_upload.max(4 * GIB);
            uploads.quota = 4 * uploads.max_size;
            uploads.part_size = part_bytes;
            uploads.multipart_threshold = part_bytes.min(64 * MIB);
            sessions(config);
        })
        .await
        .context("the catalogue starts")?;
        let account = platform.account().await;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(600))
            .build()?;
        Ok(Self {
            platform,
            catalog,
            token: account.token,
            http,
        })
    }

    pub fn url(&self, path: &str) -> String {
        self.catalog.url(path)
    }

    /// Stops the catalogue, then the users service (the database, bucket and SeaweedFS go
    /// with the values).
    pub async fn stop(mut self) {
        self.catalog.stop().await;
        drop(self.catalog);
        drop(self.platform);
    }
}
