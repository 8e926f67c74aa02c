//! The FIFOs the transcoded rungs come back through: ffmpeg writes each x264 rung as FLV into one
//! in the session folder and a [`Relay`](super::relay::Relay) reads it.
//!
//! While an ffmpeg lives, the pipeline holds a write end of each of its FIFOs ([`HeldPipe`]): the
//! reader then cannot see end of file before ffmpeg opened its end, and does see it once ffmpeg
//! is gone and its last bytes are read. The process owns the held ends and the relay the read
//! ends, so both depend on this module rather than on each other.

use std::{
    io,
    path::{Path, PathBuf},
};

use tokio::net::unix::pipe;

/// Where the FIFOs live: a dot name, which the origin's allowlist never serves.
const FIFO_FOLDER: &str = ".relay";

/// The write end of a FIFO, held for as long as the ffmpeg that writes it lives.
pub struct HeldPipe {
    _sender: pipe::Sender,
}

/// Makes the FIFO that ffmpeg run `generation` writes rung `name` to, and opens both ends: the
/// path for ffmpeg's command line, the read end for the relay and the write end to hold.
pub async fn open(
    session_dir: &Path,
    name: &str,
    generation: u32,
) -> io::Result<(PathBuf, pipe::Receiver, HeldPipe)> {
    let folder = session_dir.join(FIFO_FOLDER);
    tokio::fs::create_dir_all(&folder).await?;
    let path = folder.join(format!("{name}-{generation}.flv"));
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &path,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
    )?;
    // The read end first: opening a write end of a FIFO nobody reads fails.
    let receiver = pipe::OpenOptions::new().open_receiver(&path)?;
    let sender = pipe::OpenOptions::new().open_sender(&path)?;
    Ok((path, receiver, HeldPipe { _sender: sender }))
}
