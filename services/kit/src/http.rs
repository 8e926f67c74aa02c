//! HTTP serving with the limits `axum::serve` leaves out.
//!
//! `axum::serve` has no header-read timeout, so a slowloris client can hold sockets forever. This
//! server drives hyper directly with a header-read timeout, caps concurrent connections, and the
//! [`limits`] layer adds a per-request timeout, a body size limit, request ids and access tracing.
//! Shutdown stops accepting at once and gives open requests a grace period.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, Router};
use http::{HeaderName, Request, StatusCode};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::{
    add_extension::AddExtension,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

/// Name of the header that carries request ids in and out of every service.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How long clients of ferrocast services may keep an idle pooled connection.
///
/// The server's header-read timeout also bounds how long an idle keep-alive connection waits
/// for its next request ([`ServerLimits::header_read_timeout`], 5 s). A client that reuses a
/// connection idle for about that long races the server's close and gets "connection closed
/// before message completed" — with 5 s lease renewals and polls that happened for real. Pooled
/// clients therefore drop idle connections well before the server does.
pub const CLIENT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connection-level limits of one listener.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Time a client gets to send a complete request head.
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// Time open requests get to finish after shutdown starts.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Request-level limits applied by [`limits`].
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Wraps `router` with request ids, tracing (sensitive headers redacted), a timeout (408) and a
/// body limit (413). Routes that stream for a long time (SSE) are unaffected by the timeout once
/// their response head is sent.
pub fn limits(router: Router, request_limits: RequestLimits) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([
                http::header::AUTHORIZATION,
                http::header::COOKIE,
            ]))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(axum::middleware::map_response(envelope_limit_errors))
            .layer(RequestBodyLimitLayer::new(request_limits.max_body_bytes))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                request_limits.timeout,
            )),
    )
}

/// [`limits`] for hot, read-only, unauthenticated routes (the HLS origin: every viewer, every
/// second): the same timeout, body limit and JSON error envelope, without the request id and
/// the tracing span of every request, which these routes have no use for (no downstream calls,
/// no per-request logs) and which cost time on every one of them.
pub fn edge_limits(router: Router, request_limits: RequestLimits) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_response(envelope_limit_errors))
            .layer(RequestBodyLimitLayer::new(request_limits.max_body_bytes))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                request_limits.timeout,
            )),
    )
}

/// The limit layers answer 408/413 with plain text; clients of ferrocast always get the JSON
/// error envelope, so those two are rewritten unless the handler already produced JSON.
async fn envelope_limit_errors<B>(response: http::Response<B>) -> axum::response::Response
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    use axum::response::IntoResponse;
    let response = response.map(axum::body::Body::new);
    let is_json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let (code, message) = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "request took too long"),
        _ => return response,
    };
    if is_json {
        return response;
    }
    (response.status(), axum::Json(error_body(code, message))).into_response()
}

/// Span of one request: method, path without the query (queries may carry secrets) and id.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
    )
}

/// Serves `router` on `listener` until `shutdown` fires, then waits up to
/// `limits.shutdown_grace` for open connections. Handlers can extract `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    serve_service(listener, limits, slots, shutdown, move |peer| {
        TowerToHyperService::new(AddExtension::new(router.clone(), ConnectInfo(peer)))
    })
    .await;
}

/// The connection loop behind [`serve`], for any hyper service: `make_service` builds the
/// service of one connection from its peer address. Connections take a slot of `slots` (shared
/// between the shards of [`serve_sharded`]) and are refused when none is left.
pub async fn serve_service<S, B, M>(
    listener: TcpListener,
    limits: ServerLimits,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
    make_service: M,
) where
    M: Fn(SocketAddr) -> S,
    S: ConnectionService<B>,
    B: ResponseBody,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();

    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached; closing new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(crate::sendfile::SendfileStream::new(stream)),
                make_service(peer),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }

    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within the shutdown grace period");
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`serve_service`] can run for a connection: a hyper service whose futures may move
/// between threads.
pub trait ConnectionService<B>:
    hyper::service::Service<
        Request<hyper::body::Incoming>,
        Response = http::Response<B>,
        Future: Send + 'static,
        Error: Into<BoxError>,
    > + Send
    + 'static
{
}

impl<S, B> ConnectionService<B> for S where
    S: hyper::service::Service<
            Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Future: Send + 'static,
            Error: Into<BoxError>,
        > + Send
        + 'static
{
}

/// A response body [`serve_service`] can send.
pub trait ResponseBody:
    http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> ResponseBody for B where
    B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static
{
}

/// [`serve_service`] the way nginx serves: `shards` threads, each with its own single-threaded
/// runtime and its own listening socket on the same port (`SO_REUSEPORT`, so the kernel spreads
/// connections over them). Nothing is shared between requests of different shards, so no
/// request wakes another thread: on the HLS origin the multi-threaded runtime spent more time
/// waking and switching threads than serving (docs/performance.md). For hot read-only routes
/// whose handlers do not block.
///
/// Binds at once (port 0 picks one port for every shard) and returns the address and a future
/// that resolves when every shard has stopped after `shutdown`.
pub async fn serve_sharded<S, B, M>(
    addr: &str,
    shards: usize,
    limits: ServerLimits,
    shutdown: CancellationToken,
    make_service: M,
) -> std::io::Result<(SocketAddr, impl std::future::Future<Output = ()>)>
where
    M: Fn(SocketAddr) -> S + Clone + Send + 'static,
    S: ConnectionService<B>,
    B: ResponseBody,
{
    let requested = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, addr.to_owned()))?;
    let first = reuse_port_listener(requested)?;
    let local = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..shards.max(1) {
        listeners.push(reuse_port_listener(local)?);
    }
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut stopped = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let (limits, slots, shutdown) = (limits.clone(), slots.clone(), shutdown.clone());
        let make_service = make_service.clone();
        std::thread::Builder::new()
            .name(format!("http-shard-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        tracing::error!(%error, "cannot start an HTTP shard");
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            serve_service(listener, limits, slots, shutdown, make_service).await;
                        }
                        Err(error) => tracing::error!(%error, "cannot start an HTTP shard"),
                    }
                });
                drop(done);
            })?;
        stopped.push(finished);
    }
    Ok((local, async move {
        for shard in stopped {
            // An error only means the shard's thread ended (its sender dropped): stopped either way.
            let _ = shard.await;
        }
    }))
}

fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Binds `addr` (port 0 picks a free port) and returns the listener and its real address.
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// A JSON error body in ferrocast's envelope: `{"error": {"code", "message"}}`.
pub fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}
