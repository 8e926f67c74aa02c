//! Captures everything the process logs (all levels, all threads) so a test can assert that no
//! secret ever reaches the logs. Installs the global subscriber: use one test binary per capture.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use tracing_subscriber::{
    fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter,
};

#[derive(Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl LogCapture {
    /// Installs a TRACE-level global subscriber writing into the capture. Panics if a global
    /// subscriber already exists, since the capture would then silently miss lines.
    pub fn install() -> Self {
        let capture = Self::default();
        tracing_subscriber::registry()
            .with(EnvFilter::new("trace"))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(capture.clone())
                    .with_ansi(false),
            )
            .try_init()
            .expect("LogCapture::install must run before any other subscriber is set");
        capture
    }

    /// Everything logged so far.
    pub fn contents(&self) -> String {
        let bytes = self.buffer.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(self.buffer.clone())
    }
}
