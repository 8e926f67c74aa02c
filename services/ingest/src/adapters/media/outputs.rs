//! File-system side of a session folder: creating it, noticing when ffmpeg has published every
//! rendition, writing the master playlist atomically, closing the variant playlists of a pipeline
//! that gave up, telling a full disk apart from a broken ffmpeg, and removing the folder after
//! the stream.

use std::path::{Path, PathBuf};

use ferrocast_media::hls::playlist;
use tokio::io::AsyncReadExt;

/// The cause named in logs and failure reasons when the HLS file system is full.
pub const NO_SPACE: &str = "no space left on the HLS disk";

/// ffmpeg's variant playlist inside each rendition folder.
const VARIANT_PLAYLIST: &str = "index.m3u8";
/// Less than any segment of the ladder: a disk that cannot take this cannot take a segment.
const SPACE_PROBE_BYTES: usize = 64 * 1024;

/// Creates `{root}/{username}/{session_id}`.
pub async fn create_session_dir(
    root: &Path,
    username: &str,
    session_id: &str,
) -> std::io::Result<PathBuf> {
    let dir = root.join(username).join(session_id);
    tokio::fs::create_dir_all(&dir).await?;
    Ok(dir)
}

/// The first segment listed in `{dir}/{rendition}/index.m3u8`, once ffmpeg has written one.
pub async fn first_segment(dir: &Path, rendition: &str) -> Option<PathBuf> {
    let playlist = tokio::fs::read_to_string(dir.join(rendition).join("index.m3u8"))
        .await
        .ok()?;
    let name = playlist
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))?;
    // ffmpeg writes bare file names; anything else is not ours to open.
    if name.contains('/') || name.contains("..") {
        return None;
    }
    Some(dir.join(rendition).join(name))
}

/// Up to `limit` bytes from the start of `path`.
pub async fn read_prefix(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = tokio::fs::File::open(path).await?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

/// Writes `{dir}/{name}` through a temporary file and a rename, so readers never see half of it.
pub async fn write_atomic(
    dir: &Path,
    name: &str,
    contents: impl AsRef<[u8]>,
) -> std::io::Result<()> {
    let temporary = dir.join(format!("{name}.tmp"));
    let written = match tokio::fs::write(&temporary, contents).await {
        Ok(()) => tokio::fs::rename(&temporary, dir.join(name)).await,
        Err(error) => Err(error),
    };
    if written.is_err() {
        // A half-written temporary holds space a full disk needs back.
        let _ = tokio::fs::remove_file(&temporary).await;
    }
    written
}

/// Appends `#EXT-X-ENDLIST` to `{rendition_dir}/index.m3u8` unless it has it, atomically.
/// Returns whether it wrote; a rendition without a playlist yet is left alone. The caller makes
/// sure ffmpeg is gone, or its next rewrite would drop the tag again.
pub async fn close_playlist(rendition_dir: &Path, target_seconds: u32) -> std::io::Result<bool> {
    let text = match tokio::fs::read_to_string(rendition_dir.join(VARIANT_PLAYLIST)).await {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    let Some(closed) = playlist::with_endlist(&text, target_seconds) else {
        return Ok(false);
    };
    write_atomic(rendition_dir, VARIANT_PLAYLIST, &closed).await?;
    Ok(true)
}

/// Checks that the file system under `dir` still takes a small write. ffmpeg 5 does not exit on
/// ENOSPC, nor print it: its segment writes fail silently, so when it stalls or dies this is how
/// a full disk (`ErrorKind::StorageFull`) is told apart from a broken ffmpeg worth restarting.
pub async fn probe_space(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(".space-probe");
    let written = tokio::fs::write(&probe, vec![0u8; SPACE_PROBE_BYTES]).await;
    let _ = tokio::fs::remove_file(&probe).await;
    written
}

/// Removes a session folder and, if it became empty, the user's folder above it.
pub async fn remove_session(dir: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    if let Some(user_dir) = dir.parent() {
        // Fails harmlessly while another session of the user still has files there.
        let _ = tokio::fs::remove_dir(user_dir).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[tokio::test]
    async fn closing_appends_the_end_tag_once_and_leaves_no_temporary() {
        let dir = tempdir();
        let live = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\na_00001.ts\n";
        std::fs::write(dir.path().join("index.m3u8"), live).expect("playlist");

        assert!(close_playlist(dir.path(), 2).await.expect("closed"));
        let closed = std::fs::read_to_string(dir.path().join("index.m3u8")).expect("read");
        assert_eq!(closed, format!("{live}#EXT-X-ENDLIST\n"));
        assert!(!close_playlist(dir.path(), 2).await.expect("no-op"));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|entry| entry.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, ["index.m3u8"]);
    }

    #[tokio::test]
    async fn a_rendition_without_a_playlist_is_left_alone() {
        let dir = tempdir();
        assert!(!close_playlist(dir.path(), 2)
            .await
            .expect("nothing to close"));
        assert!(!dir.path().join("index.m3u8").exists());
        let gone = dir.path().join("gone");
        assert!(!close_playlist(&gone, 2).await.expect("nothing to close"));
    }

    #[tokio::test]
    async fn a_failed_atomic_write_removes_its_temporary() {
        let dir = tempdir();
        // A directory in the way makes the rename fail after the temporary was written.
        std::fs::create_dir(dir.path().join("x")).expect("blocker");
        assert!(write_atomic(dir.path(), "x", "data").await.is_err());
        assert!(!dir.path().join("x.tmp").exists());
    }

    #[tokio::test]
    async fn a_writable_disk_passes_the_space_probe_without_a_trace() {
        let dir = tempdir();
        probe_space(dir.path()).await.expect("space left");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
        assert!(probe_space(&dir.path().join("missing")).await.is_err());
    }
}
