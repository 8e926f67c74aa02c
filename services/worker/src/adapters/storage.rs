//! The object storage a job reads its original from and writes its outputs to (S3 API).

use std::path::{Path, PathBuf};

use aws_sdk_s3::{primitives::ByteStream, Client};
use ferrocast_kit::{
    config::storage::Storage,
    jobs::{file_kind, FileKind, IMMUTABLE},
    s3::{self, Deadlines},
};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The original is gone (deleted while queued): nothing to retry.
    #[error("the original {0} is not in storage")]
    Missing(String),
    #[error("the original is {size} bytes, above the {limit} this worker takes")]
    TooLarge { size: u64, limit: u64 },
    #[error("storage: {0}")]
    Backend(String),
    #[error("scratch folder: {0}")]
    Scratch(#[from] std::io::Error),
}

pub struct Objects {
    client: Client,
    bucket: String,
}

/// Downloads and uploads of media files take as long as their size needs; a stalled transfer
/// is still cut (an attempt may last an hour, the connection must come up in seconds).
const TRANSFERS: Deadlines = Deadlines {
    connect: std::time::Duration::from_secs(3),
    attempt: std::time::Duration::from_secs(3600),
    operation: std::time::Duration::from_secs(3600),
};

fn backend(error: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(error.to_string())
}

impl Objects {
    pub fn new(storage: &Storage) -> Self {
        Self {
            client: s3::client(storage, &storage.endpoint, TRANSFERS),
            bucket: storage.bucket.clone(),
        }
    }

    /// Whether the bucket answers (readiness).
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(backend)
    }

    /// Streams `key` into `file`, refusing an object above `limit` bytes before reading it.
    pub async fn download(&self, key: &str, file: &Path, limit: u64) -> Result<u64, StorageError> {
        let object = s3::get_if_exists(&self.client, &self.bucket, key)
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?
            .ok_or_else(|| StorageError::Missing(key.to_owned()))?;
        let size = u64::try_from(object.content_length().unwrap_or(0)).unwrap_or(0);
        if size > limit {
            return Err(StorageError::TooLarge { size, limit });
        }
        let mut body = object.body;
        let mut out = tokio::fs::File::create(file).await?;
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(backend)? {
            written += chunk.len() as u64;
            if written > limit {
                return Err(StorageError::TooLarge {
                    size: written,
                    limit,
                });
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok(written)
    }

    /// Uploads every file under `dir` to `prefix` + its relative path, with the content type
    /// and caching its name calls for; playlists last, so a master never names a segment that
    /// is not there yet.
    pub async fn upload_dir(&self, dir: &Path, prefix: &str) -> Result<usize, StorageError> {
        let mut files = Vec::new();
        walk(dir, &mut files)?;
        files.sort_by_key(|path| (kind(path).playlist, path.clone()));
        for path in &files {
            let relative = path
                .strip_prefix(dir)
                .map_err(|e| backend(e.to_string()))?
                .to_string_lossy()
                .into_owned();
            self.upload_file(path, &format!("{prefix}{relative}"))
                .await?;
        }
        Ok(files.len())
    }

    pub async fn upload_file(&self, path: &Path, key: &str) -> Result<(), StorageError> {
        let kind = kind(path);
        let body = ByteStream::from_path(path).await.map_err(backend)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(kind.content_type)
            .cache_control(kind.cache_control)
            .body(body)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// A file the worker made, as it is stored (anything unknown as plain immutable bytes).
fn kind(path: &Path) -> FileKind {
    file_kind(&path.to_string_lossy()).unwrap_or(FileKind {
        content_type: "application/octet-stream",
        cache_control: IMMUTABLE,
        playlist: false,
    })
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}
