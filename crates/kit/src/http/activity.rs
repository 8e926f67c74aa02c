//! What one connection is doing, for the two deadlines hyper does not keep.
//!
//! hyper's HTTP/1 header-read timeout starts only once hyper-util's protocol sniff has chosen
//! HTTP/1, so a client that connects and sends nothing is never timed out; HTTP/2 has no idle
//! timeout at all. The connection's service is wrapped in [`Tracked`], which counts the requests
//! in flight (from the request head until the response body is sent or dropped) and when a
//! request last started or ended. [`Activity::verdict`] turns that into "closed: no first
//! request", "idle: close gracefully" or "look again at". Nothing here wakes a task per request:
//! the connection's watchdog sleeps until the next deadline and reads a few atomics.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

/// Requests of one connection, shared by its service (which counts) and its watchdog (which
/// reads).
#[derive(Debug)]
pub(super) struct Activity {
    opened: Instant,
    /// Set by the first request head: the first-request deadline is disarmed for good.
    started: AtomicBool,
    /// Requests whose head arrived and whose response is not yet sent in full.
    in_flight: AtomicUsize,
    /// When a request last started or ended, in milliseconds after `opened`.
    last_change_ms: AtomicU64,
}

/// What the watchdog should do with its connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No request head arrived within the first-request deadline: close at once.
    Silent,
    /// Nothing in flight for the idle timeout: close gracefully.
    Idle,
    /// Nothing to do before this instant.
    LookAgainAt(Instant),
}

impl Activity {
    pub(super) fn new(opened: Instant) -> Arc<Self> {
        Arc::new(Self {
            opened,
            started: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            last_change_ms: AtomicU64::new(0),
        })
    }

    /// The verdict at `now` for a connection that must send its first request head within
    /// `first_request` of being accepted and may stay open without a request in flight for
    /// `idle`.
    pub(super) fn verdict(&self, now: Instant, first_request: Duration, idle: Duration) -> Verdict {
        if !self.started.load(Ordering::Acquire) {
            let deadline = self.opened + first_request;
            return if now >= deadline {
                Verdict::Silent
            } else {
                Verdict::LookAgainAt(deadline)
            };
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Verdict::LookAgainAt(now + idle);
        }
        let quiet_since =
            self.opened + Duration::from_millis(self.last_change_ms.load(Ordering::Acquire));
        let deadline = quiet_since + idle;
        if now >= deadline {
            Verdict::Idle
        } else {
            Verdict::LookAgainAt(deadline)
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.started.store(true, Ordering::Release);
        self.touch();
        InFlight(self.clone())
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_change_ms.fetch_max(elapsed, Ordering::AcqRel);
    }
}

/// One request in flight; ends when dropped (response sent, or the request abandoned).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's service, counting its requests into an [`Activity`].
pub(super) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S, R, B> hyper::service::Service<Request<R>> for Tracked<S>
where
    S: hyper::service::Service<Request<R>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: Request<R>) -> Self::Future {
        // Counted before the inner service runs: the head is complete once hyper calls us.
        let in_flight = self.activity.begin();
        TrackedFuture {
            inner: self.inner.call(request),
            in_flight: Some(in_flight),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of a [`Tracked`] service: hands the request's [`InFlight`] on to the
    /// response body, or ends it if the future fails or is dropped.
    pub(super) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let in_flight = this.in_flight.take();
        Poll::Ready(result.map(|response| response.map(|inner| TrackedBody { inner, in_flight })))
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request in flight until it is sent in full or dropped
    /// (a long SSE stream is not idle).
    pub(super) struct TrackedBody<B> {
        #[pin]
        inner: B,
        in_flight: Option<InFlight>,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if frame.is_none() {
            this.in_flight.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_secs(5);
    const IDLE: Duration = Duration::from_secs(60);

    #[test]
    fn a_silent_connection_is_closed_at_the_first_request_deadline() {
        let opened = Instant::now();
        let activity = Activity::new(opened);
        assert_eq!(
            activity.verdict(opened, FIRST, IDLE),
            Verdict::LookAgainAt(opened + FIRST)
        );
        assert_eq!(
            activity.verdict(opened + FIRST, FIRST, IDLE),
            Verdict::Silent
        );
    }

    #[test]
    fn a_request_disarms_the_first_deadline_and_busy_connections_are_not_idle() {
        // Opened long ago: past its first deadline, which a request head disarmed in time.
        let opened = Instant::now()
            .checked_sub(FIRST * 2)
            .expect("the clock runs longer than that");
        let activity = Activity::new(opened);
        let request = activity.begin();
        let late = Instant::now() + IDLE * 3;
        assert_eq!(
            activity.verdict(late, FIRST, IDLE),
            Verdict::LookAgainAt(late + IDLE),
            "however long a request takes, its connection is not idle"
        );
        drop(request);
        let ended = Instant::now();
        // Idle counts from the end of the last response (kept to the millisecond).
        match activity.verdict(ended, FIRST, IDLE) {
            Verdict::LookAgainAt(at) => assert!(
                at <= ended + IDLE && at + Duration::from_millis(50) > ended + IDLE,
                "{at:?} vs {ended:?}"
            ),
            other => panic!("{other:?} right after a response"),
        }
        assert_eq!(activity.verdict(ended + IDLE, FIRST, IDLE), Verdict::Idle);
    }
}
