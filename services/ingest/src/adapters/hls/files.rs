//! The live window, kept in memory for the HLS origin.
//!
//! Every viewer of a stream asks for the same few files each second. Opening and reading them
//! through tokio's blocking pool for every request held the origin to a fifth of what nginx
//! serves statically from the same files, so each file is read once and
//! then answered from memory, and a segment's bytes go out with `sendfile` from the file they
//! were read from ([`super::sendfile`]) instead of a copy into the socket per viewer. An
//! entry is valid only while the file on disk has the same identity (device, inode, size,
//! modification time), checked with one `stat` per request: a playlist that ffmpeg rewrites
//! (temp file + rename gives a new inode) or a segment name reused after a pipeline restart is
//! never served stale, and a file deleted from the window is a 404.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::Duration,
};

use axum::http::HeaderValue;
use bytes::Bytes;

/// Files above this are streamed from disk instead (a high-bitrate source with long segments);
/// caching one would evict the whole live window of smaller streams.
pub const MAX_CACHED_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// An entry nobody asked for in this long belongs to an ended stream or a segment that left the
/// live window (players fetch a segment within seconds of its listing). Longer only holds
/// memory: at 1 s segments a 30 s idle time keeps ≈ 30 segments per rendition.
const IDLE_EVICTION: Duration = Duration::from_secs(10);

/// What a request gets: the bytes and a validator for conditional requests.
#[derive(Debug, Clone)]
pub struct CachedFile {
    pub bytes: Bytes,
    /// A strong ETag derived from the file's identity, ready to send.
    pub etag: HeaderValue,
    identity: Identity,
}

impl CachedFile {
    /// A file the ingest wrote itself ([`super::live`]): never compared with the disk; `version`
    /// makes its ETag.
    pub(super) fn written(bytes: Bytes, version: u64) -> Self {
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let etag = HeaderValue::from_str(&format!("\"w{version:x}-{len:x}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Self {
            bytes,
            etag,
            // No device has this number, so no stat ever matches it.
            identity: Identity {
                dev: u64::MAX,
                ino: version,
                len,
                mtime_ns: 0,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Identity {
    fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            dev: metadata.dev(),
            ino: metadata.ino(),
            len: metadata.len(),
            mtime_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
        }
    }

    fn etag(&self) -> HeaderValue {
        let tag = format!("\"{:x}-{:x}-{:x}\"", self.ino, self.len, self.mtime_ns);
        // Quotes and hex digits only: always a valid header value.
        HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    }
}

/// Why a file cannot be answered from memory.
#[derive(Debug)]
pub enum Lookup {
    Found(CachedFile),
    /// Missing, or not a regular file.
    NotFound,
    /// Too big to keep in memory: the caller streams it from disk.
    TooLarge,
    Failed(std::io::Error),
}

#[derive(Debug, Clone)]
pub struct FileCache {
    entries: moka::future::Cache<PathBuf, CachedFile>,
    sendfile: bool,
}

impl FileCache {
    /// A cache holding at most `max_bytes` of file contents, sent to viewers by `sendfile` when
    /// `sendfile` is set ([`super::sendfile`]).
    pub fn new(max_bytes: u64, sendfile: bool) -> Self {
        let entries = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_path: &PathBuf, file: &CachedFile| {
                u32::try_from(file.bytes.len()).unwrap_or(u32::MAX)
            })
            .time_to_idle(IDLE_EVICTION)
            .build();
        Self { entries, sendfile }
    }

    /// The current contents of `path`, from memory when the file has not changed.
    pub async fn get(&self, path: &Path) -> Lookup {
        // A synchronous stat on purpose: the HLS root is a local folder whose metadata the
        // kernel has cached, so it costs about a microsecond, while a hop through the blocking
        // pool costs tens of microseconds and was the origin's bottleneck.
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => metadata,
            Ok(_) => return Lookup::NotFound,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Lookup::NotFound,
            Err(error) => return Lookup::Failed(error),
        };
        if metadata.len() > MAX_CACHED_FILE_BYTES {
            return Lookup::TooLarge;
        }
        let identity = Identity::of(&metadata);
        if let Some(file) = self.entries.get(path).await {
            if file.identity == identity {
                return Lookup::Found(file);
            }
            self.entries.invalidate(path).await;
        }
        // Concurrent misses for the same new segment share one read.
        let read = self
            .entries
            .try_get_with(
                path.to_path_buf(),
                read(path.to_path_buf(), identity, self.sendfile),
            )
            .await;
        match read {
            Ok(file) => Lookup::Found(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Lookup::NotFound,
            Err(error) => Lookup::Failed(std::io::Error::new(error.kind(), error.to_string())),
        }
    }
}

/// Reads the file and records the identity it had when read. If it changed between the stat and
/// the read, the entry is stored with the new identity (or none, if it grew past what we read),
/// so the next request re-reads rather than trusting a mixed state.
async fn read(
    path: PathBuf,
    stat_identity: Identity,
    sendfile: bool,
) -> std::io::Result<CachedFile> {
    let (file, bytes, identity) = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let identity = Identity::of(&file.metadata()?);
        let mut bytes = Vec::with_capacity(usize::try_from(identity.len).unwrap_or(0));
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        Ok::<_, std::io::Error>((file, bytes, identity))
    })
    .await
    .map_err(std::io::Error::other)??;
    let identity = if u64::try_from(bytes.len()).ok() == Some(identity.len) {
        identity
    } else {
        // Written while we read: never matches a later stat, so it is read again.
        Identity {
            len: u64::MAX,
            ..stat_identity
        }
    };
    Ok(CachedFile {
        // Viewers get the file's pages by sendfile; the bytes serve the rest (and everything when
        // sendfile is off).
        bytes: if sendfile {
            super::sendfile::file_backed(file, bytes)
        } else {
            Bytes::from(bytes)
        },
        etag: identity.etag(),
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(lookup: Lookup) -> CachedFile {
        match lookup {
            Lookup::Found(file) => file,
            other => panic!("expected the file, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_rewritten_file_is_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("index.m3u8");
        std::fs::write(&path, "one").expect("write");
        let cache = FileCache::new(1024 * 1024, true);
        let first = found(cache.get(&path).await);
        assert_eq!(first.bytes, "one");
        assert_eq!(found(cache.get(&path).await).etag, first.etag);

        // How ffmpeg replaces a playlist: a temp file renamed over it.
        let temp = dir.path().join("index.m3u8.tmp");
        std::fs::write(&temp, "two, longer").expect("write");
        std::fs::rename(&temp, &path).expect("rename");
        let second = found(cache.get(&path).await);
        assert_eq!(second.bytes, "two, longer");
        assert_ne!(second.etag, first.etag);
    }

    #[tokio::test]
    async fn deleted_missing_and_directory_paths_are_not_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s_00001.ts");
        std::fs::write(&path, [0x47; 188]).expect("write");
        let cache = FileCache::new(1024 * 1024, true);
        found(cache.get(&path).await);
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(cache.get(&path).await, Lookup::NotFound));
        assert!(matches!(cache.get(dir.path()).await, Lookup::NotFound));
    }

    #[tokio::test]
    async fn big_files_are_left_to_streaming() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.ts");
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(MAX_CACHED_FILE_BYTES + 1).expect("set_len");
        let cache = FileCache::new(1024 * 1024, true);
        assert!(matches!(cache.get(&path).await, Lookup::TooLarge));
    }
}
