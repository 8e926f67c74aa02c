//! The transcoded rungs' way back in. ffmpeg writes each x264 rung as FLV into a FIFO in the
//! session folder, and one [`Relay`] task per rung reads it and cuts it with the same segmenter,
//! window and origin as the natively remuxed passthrough. So the transcoded rungs get
//! low-latency parts too, are served from memory, and share the passthrough's clock (ffmpeg runs
//! with `-copyts`), which keeps their segments and parts on the same instants.
//!
//! Each ffmpeg run gets a FIFO of its own per rung ([`super::fifo`]): a restarted ffmpeg's stream
//! must not be read as the rest of the dead one's.

use std::{
    io,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::BytesMut;
use ferrocast_media::{
    codec::flv_reader::{FlvDecoder, FlvReadError, Tag},
    source::{Role, Source},
    MediaPacket,
};
use futures::StreamExt;
use tokio::{net::unix::pipe, sync::mpsc, task::JoinHandle};
use tokio_util::codec::{Decoder, FramedRead};

use super::{
    fifo::{self, HeldPipe},
    native::NativeRendition,
    rung::RungPlan,
};

/// One transcoded rung's reader task.
pub struct Relay {
    name: String,
    feeds: mpsc::Sender<pipe::Receiver>,
    task: JoinHandle<()>,
    /// Set before the end: the rung's playlist is set aside for the room's next publisher
    /// instead of being closed.
    suspend: Arc<AtomicBool>,
}

impl Relay {
    /// Starts the task; a failure it cannot get past (a full disk, unreadable FLV) is sent to
    /// `failures`, and the pipeline ends the stream.
    pub fn spawn(plan: RungPlan, failures: mpsc::Sender<String>) -> Self {
        let name = plan.name.clone();
        // One FIFO per ffmpeg run; a second queued one would mean two runs at once.
        let (feeds, receivers) = mpsc::channel(2);
        let suspend = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(plan, receivers, failures, suspend.clone()));
        Self {
            name,
            feeds,
            task,
            suspend,
        }
    }

    /// [`Relay::finish`], but the rung's playlist stays open for the room's next publisher.
    pub async fn suspend(self, timeout: Duration) {
        self.suspend.store(true, Ordering::Relaxed);
        self.finish(timeout).await;
    }

    /// Makes the FIFO ffmpeg run `generation` writes this rung to, hands its read end to the
    /// task, and returns the path for ffmpeg's command line with the write end to hold.
    pub async fn open_pipe(
        &self,
        session_dir: &Path,
        generation: u32,
    ) -> io::Result<(PathBuf, HeldPipe)> {
        let (path, receiver, held) = fifo::open(session_dir, &self.name, generation).await?;
        self.feeds
            .try_send(receiver)
            .map_err(|_| io::Error::other("the rung's relay is not taking a new ffmpeg run"))?;
        Ok((path, held))
    }

    /// Once the last ffmpeg is gone (its pipes released), lets the task read what is left and
    /// close the rung's playlist; gives up after `timeout`.
    pub async fn finish(self, timeout: Duration) {
        drop(self.feeds);
        let mut task = self.task;
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(rendition = %self.name, %error, "a rung's relay ended abnormally");
            }
            Err(_) => {
                tracing::warn!(rendition = %self.name, "a rung's relay did not finish in time");
                task.abort();
            }
        }
    }
}

/// Reads every ffmpeg run's FLV in turn, then closes the rung. A failure is reported while the
/// FIFO is still open: ffmpeg fails on the closed pipe right after, and must not be taken for
/// the cause (nor restarted for it).
async fn run(
    plan: RungPlan,
    mut receivers: mpsc::Receiver<pipe::Receiver>,
    failures: mpsc::Sender<String>,
    suspend: Arc<AtomicBool>,
) {
    let name = plan.name.clone();
    let carried = plan.carried.clone();
    let mut rung = Rung::Waiting {
        plan,
        headers: Box::default(),
    };
    while let Some(receiver) = receivers.recv().await {
        let mut tags = FramedRead::new(receiver, PipeDecoder::default());
        while let Some(tag) = tags.next().await {
            let taken = match tag {
                Ok(tag) => rung.take(tag).await,
                Err(error) => Err(format!(
                    "cannot read the {name} rung ffmpeg wrote back: {error}"
                )),
            };
            if let Err(reason) = taken {
                let _ = failures.try_send(reason);
                return;
            }
        }
    }
    if let Rung::Writing(mut output) = rung {
        // The stream is ending or changing publisher: nobody waits for a failure any more, the
        // log is what is left.
        if suspend.load(Ordering::Relaxed) {
            match (*output).suspend().await {
                Ok(kept) => carried.put(name, kept),
                Err(reason) => {
                    tracing::warn!(rendition = %name, %reason, "cannot set a transcoded rung aside")
                }
            }
        } else if let Err(reason) = output.finish().await {
            tracing::warn!(rendition = %name, %reason, "cannot finish a transcoded rung");
        }
    }
}

/// A rung before and after its first keyframe.
enum Rung {
    /// Keeps the codec headers (as the pipeline does for the source) until a keyframe can start
    /// the first segment.
    Waiting {
        plan: RungPlan,
        headers: Box<Source>,
    },
    Writing(Box<NativeRendition>),
}

impl Rung {
    async fn take(&mut self, tag: Tag) -> Result<(), String> {
        let packet = MediaPacket::from(tag);
        match self {
            Self::Writing(output) => output.push(&packet).await.map(drop),
            Self::Waiting { plan, headers } => match headers.observe(&packet) {
                Role::KeyFrame => {
                    let segmenter = plan.segmenter(&headers.headers()).map_err(|error| {
                        format!("ffmpeg's {} rung cannot be cut: {error}", plan.name)
                    })?;
                    let mut output = Box::new(plan.clone().start(segmenter).await?);
                    output.push(&packet).await?;
                    *self = Self::Writing(output);
                    Ok(())
                }
                // Headers are kept; nothing before the first keyframe decodes.
                _ => Ok(()),
            },
        }
    }
}

/// The media crate's FLV decoder on a pipe: tokio's codec trait also needs the pipe's own read
/// errors to be one of the decoder's.
#[derive(Debug, Default)]
struct PipeDecoder(FlvDecoder);

#[derive(Debug, thiserror::Error)]
enum PipeReadError {
    #[error(transparent)]
    Flv(#[from] FlvReadError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Decoder for PipeDecoder {
    type Item = Tag;
    type Error = PipeReadError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Tag>, PipeReadError> {
        Ok(self.0.decode(src)?)
    }
}
