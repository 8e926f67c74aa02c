//! Captures what a test's code logs (all levels) so the test can assert that no secret ever
//! reaches the logs. [`LogCapture::run`] scopes the capture to one test: everything the test's
//! own runtime logs, on its thread and on its blocking pool (password hashing, DNS), and nothing
//! from the other tests that run beside it in the same binary. [`LogCapture::install`] takes the
//! whole process instead, for a test binary of its own whose services run on several runtimes.

use std::{
    any::Any,
    cell::RefCell,
    future::Future,
    io::Write,
    sync::{Arc, Mutex},
};

use tracing_subscriber::{
    filter::LevelFilter,
    fmt::{
        self,
        format::{DefaultFields, Format},
        MakeWriter,
    },
    util::SubscriberInitExt,
};

/// Every event at every level, as text, into the capture.
type Capturing = fmt::Subscriber<DefaultFields, Format, LevelFilter, LogCapture>;

#[derive(Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

thread_local! {
    // The capture's scope on a thread of a capturing runtime's blocking pool, dropped when the
    // thread stops (so the thread's default subscriber is restored, not leaked).
    static THREAD_SCOPE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

impl LogCapture {
    pub fn new() -> Self {
        Self::default()
    }

    /// A TRACE-level subscriber writing into the capture. `log` records (crates that do not use
    /// tracing) reach it too: setting it as a default installs the `log` bridge.
    fn subscriber(&self) -> Capturing {
        fmt::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_writer(self.clone())
            .with_ansi(false)
            .finish()
    }

    /// Runs `test` to completion on a runtime of its own, current-thread like `#[tokio::test]`,
    /// with every thread of that runtime logging into the capture.
    pub fn run<F: Future>(&self, test: F) -> F::Output {
        // One subscriber for every thread, so a span opened on one is known on the others.
        let subscriber = Arc::new(self.subscriber());
        let on_start = subscriber.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_start(move || {
                let scope: Box<dyn Any> = Box::new(on_start.clone().set_default());
                THREAD_SCOPE.with(|slot| *slot.borrow_mut() = Some(scope));
            })
            .on_thread_stop(|| {
                THREAD_SCOPE.with(|slot| slot.borrow_mut().take());
            })
            .build()
            .expect("a runtime for the log capture");
        let _scope = subscriber.set_default();
        runtime.block_on(test)
    }

    /// Installs a TRACE-level global subscriber writing into the capture. Panics if a global
    /// subscriber already exists, since the capture would then silently miss lines.
    pub fn install() -> Self {
        let capture = Self::default();
        capture
            .subscriber()
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
