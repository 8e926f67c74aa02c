//! A small tmpfs mounted for one test, to make "the disk is full" real instead of simulated.
//! Mounting needs root (as on CI's machine); callers skip with a message when it is refused.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// A tmpfs of a given size mounted on a directory, lazily unmounted when dropped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `"2m"`) on `dir`; `None` when mounting is not permitted.
    pub fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Self(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: files a test still holds open must not keep the mount (and the test) alive.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
