//! A pipeline's sink that tells the work running beside the pipeline (its recording, its live
//! thumbnails) when the pipeline has finished, or was dropped unfinished: either way nothing more
//! will be written.

use tokio_util::sync::{CancellationToken, DropGuard};

use crate::ports::{BoxFuture, MediaError, MediaPacket, MediaSink, Rendition};

pub struct WatchedSink {
    inner: Box<dyn MediaSink>,
    ended: DropGuard,
}

impl WatchedSink {
    /// `inner`, cancelling `ended` once it has finished or been dropped.
    pub fn boxed(inner: Box<dyn MediaSink>, ended: CancellationToken) -> Box<dyn MediaSink> {
        Box::new(Self {
            inner,
            ended: ended.drop_guard(),
        })
    }
}

impl MediaSink for WatchedSink {
    fn push(&mut self, packet: MediaPacket) -> Result<(), MediaError> {
        self.inner.push(packet)
    }

    fn new_publisher(&mut self) {
        self.inner.new_publisher();
    }

    fn renditions(&self) -> Vec<Rendition> {
        self.inner.renditions()
    }

    fn failed(&self) -> BoxFuture<'static, MediaError> {
        self.inner.failed()
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, ()> {
        let Self { inner, ended } = *self;
        let finished = inner.finish();
        Box::pin(async move {
            finished.await;
            drop(ended);
        })
    }
}
