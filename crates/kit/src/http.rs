//! HTTP serving with the limits `axum::serve` leaves out.
//!
//! `axum::serve` has no header-read timeout, so a slowloris client can hold sockets forever. This
//! server drives hyper directly and bounds every connection from accept on: a total and a
//! per-address connection cap ([`Admission`]), one deadline from accept to the first complete
//! request head (hyper-util's protocol sniff included), hyper's header-read timeout between
//! HTTP/1 requests, and for HTTP/2 a stream limit and an idle timeout. The [`limits`] layer adds
//! a per-request timeout, a body size limit, request ids and access tracing. Shutdown stops
//! accepting at once and gives open requests a grace period.

mod activity;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, Router};
use http::{HeaderName, Request, StatusCode};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceBuilder;
use tower_http::{
    add_extension::AddExtension,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use self::activity::{Activity, Tracked, Verdict};
use crate::{admission::Admission, client::TrustedProxies};

/// Name of the header that carries request ids in and out of every service.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The header services present their service token in, on every internal HTTP route.
pub const SERVICE_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-service-token");

/// Whether `headers` carry the service token `expected`, compared in constant time.
pub fn presents_service_token(headers: &http::HeaderMap, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    headers
        .get(SERVICE_TOKEN_HEADER)
        .is_some_and(|value| bool::from(value.as_bytes().ct_eq(expected.as_bytes())))
}

/// Name of the browser's session cookie (set by the users service, HttpOnly).
pub const SESSION_COOKIE: &str = "ferrocast_session";

/// The caller's JWT: the `Authorization: Bearer` header (API clients) or else the session
/// cookie (the browser). Every service that takes a signed-in user reads it this one way.
pub fn caller_token(headers: &http::HeaderMap) -> Option<String> {
    bearer(headers).map(str::to_owned).or_else(|| {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.trim_matches('"').to_owned())
            .filter(|value| !value.is_empty())
    })
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// How long clients of ferrocast services may keep an idle pooled connection.
///
/// The server's header-read timeout also bounds how long an idle keep-alive connection waits
/// for its next request ([`ServerLimits::header_read_timeout`], 5 s). A client that reuses a
/// connection idle for about that long races the server's close and gets "connection closed
/// before message completed" — with 5 s lease renewals and polls that happened for real. Pooled
/// clients therefore drop idle connections well before the server does.
pub const CLIENT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Name of the counter of connections closed by the listener's limits, by `reason`: `global`
/// and `per_address` (refused at accept), `first_request_deadline` (no request head in time).
pub const CONNECTIONS_REFUSED: &str = "http_connections_refused_total";

/// Default of [`ServerLimits::max_connections_per_address`], also the default of each service's
/// `FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS`.
pub fn default_max_connections_per_address() -> usize {
    64
}

/// Connection-level limits of one listener.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Time a client gets to send a complete request head: the first one from accept on (the
    /// protocol sniff included, so a connection that sends nothing is closed after it), and on
    /// HTTP/1 each later one from the end of the previous response (hyper's header-read timeout,
    /// which therefore also closes idle keep-alive connections).
    pub header_read_timeout: Duration,
    /// An HTTP/2 connection with no request in flight for this long is closed gracefully
    /// (GOAWAY). HTTP/1 connections go idle for `header_read_timeout` at most.
    pub idle_timeout: Duration,
    /// Streams one HTTP/2 connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Open connections of the listener (all its shards together).
    pub max_connections: usize,
    /// Open connections of one client address; connections from `trusted_proxies` count toward
    /// `max_connections` only (one proxy speaks for many clients, and the address a client was
    /// forwarded for is not known before its first request).
    pub max_connections_per_address: usize,
    pub trusted_proxies: TrustedProxies,
    /// Time open requests get to finish after shutdown starts, and a connection closed for
    /// being idle gets to say goodbye.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    /// The limits of an internal service: its proxy (the gateway) on the same machine.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_concurrent_streams: 100,
            max_connections: 4096,
            max_connections_per_address: default_max_connections_per_address(),
            trusted_proxies: TrustedProxies::loopback(),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl ServerLimits {
    /// The connection caps of a listener with these limits, to share between its shards.
    pub fn admission(&self) -> Arc<Admission> {
        Admission::with_exempt(
            self.max_connections,
            self.max_connections_per_address,
            self.trusted_proxies.clone(),
        )
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
    let admission = limits.admission();
    serve_service(
        listener,
        limits,
        admission,
        shutdown,
        |stream| stream,
        move |peer| TowerToHyperService::new(AddExtension::new(router.clone(), ConnectInfo(peer))),
    )
    .await;
}

/// The connection loop behind [`serve`], for any hyper service: `make_service` builds the
/// service of one connection from its peer address, and `wrap` the stream hyper reads and writes
/// from the accepted socket ([`serve`] takes the socket as it is; a listener that writes some
/// responses its own way, such as the HLS origin sending files with `sendfile`, wraps it).
/// Connections are admitted by `admission` (which several listeners of one port may share) and
/// closed at once when it refuses them; every admitted one gets the same deadlines.
pub async fn serve_service<S, B, M, W, IO>(
    listener: TcpListener,
    limits: ServerLimits,
    admission: Arc<Admission>,
    shutdown: CancellationToken,
    wrap: W,
    make_service: M,
) where
    M: Fn(SocketAddr) -> S,
    S: ConnectionService<B>,
    B: ResponseBody,
    W: Fn(TcpStream) -> IO,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .max_concurrent_streams(limits.max_concurrent_streams);
    let builder = Arc::new(builder);
    let connections = TaskTracker::new();
    // Fires when the shutdown grace is over: connections still open are dropped.
    let abort = CancellationToken::new();

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
        let permit = match admission.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refused) => {
                // Debug, not warn: a flood of refusals must not become a flood of log lines.
                metrics::counter!(CONNECTIONS_REFUSED, "reason" => refused.label()).increment(1);
                tracing::debug!(%peer, %refused, "connection refused");
                // Dropping the stream closes it before any byte is read.
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new(Instant::now());
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(wrap(stream)),
                Tracked::new(make_service(peer), activity.clone()),
            )
            .into_owned();
        let (limits, shutdown, abort) = (limits.clone(), shutdown.clone(), abort.clone());
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            // First look at whichever deadline can come first; the verdict names the next.
            let first_look = limits.header_read_timeout.min(limits.idle_timeout);
            let watchdog = tokio::time::sleep_until(Instant::now() + first_look);
            let mut watchdog = std::pin::pin!(watchdog);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%peer, %error, "connection ended with an error");
                        }
                        break;
                    }
                    () = shutdown.cancelled(), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                        watchdog.as_mut().reset(Instant::now() + limits.shutdown_grace);
                    }
                    () = abort.cancelled() => break,
                    () = watchdog.as_mut() => {
                        if closing {
                            // A graceful close the client does not complete (an HTTP/2 peer
                            // that never answers the GOAWAY ping) ends here.
                            break;
                        }
                        match activity.verdict(
                            Instant::now(),
                            limits.header_read_timeout,
                            limits.idle_timeout,
                        ) {
                            Verdict::Silent => {
                                metrics::counter!(CONNECTIONS_REFUSED, "reason" => "first_request_deadline")
                                    .increment(1);
                                tracing::debug!(%peer, "no request head within the deadline; closing");
                                break;
                            }
                            Verdict::Idle => {
                                connection.as_mut().graceful_shutdown();
                                closing = true;
                                watchdog.as_mut().reset(Instant::now() + limits.shutdown_grace);
                            }
                            Verdict::LookAgainAt(at) => watchdog.as_mut().reset(at),
                        }
                    }
                }
            }
            drop(permit);
        });
    }

    drop(listener);
    connections.close();
    if tokio::time::timeout(limits.shutdown_grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within the shutdown grace period");
        abort.cancel();
        connections.wait().await;
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

/// Binds `addr` (port 0 picks a free port) and returns the listener and its real address.
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let requested = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, addr.to_owned()))?;
    let socket = match requested {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(requested)?;
    let listener = socket.listen(LISTEN_BACKLOG)?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Connections the kernel may hold for a listener before it accepts them: as many as a listener
/// serves at once by default. A burst past the backlog is not refused but silently dropped until
/// the client's SYN retry a second later, which would stall honest clients arriving in a crowd
/// (tokio's default is 1024; the kernel caps it at `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

/// A JSON error body in ferrocast's envelope: `{"error": {"code", "message"}}`.
pub fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        headers
    }

    #[test]
    fn the_bearer_header_wins_over_the_session_cookie() {
        let both = headers(&[
            ("authorization", "Bearer from-header"),
            ("cookie", "a=b; ferrocast_session=from-cookie"),
        ]);
        assert_eq!(caller_token(&both).as_deref(), Some("from-header"));
        let cookie = headers(&[("cookie", "a=b; ferrocast_session=from-cookie; c=d")]);
        assert_eq!(caller_token(&cookie).as_deref(), Some("from-cookie"));
    }

    #[test]
    fn no_token_from_other_schemes_names_or_empty_values() {
        for pairs in [
            &[("authorization", "Basic dXNlcjpwYXNz")][..],
            &[("authorization", "Bearer   ")][..],
            &[("cookie", "ferrocast_sessionx=1; other=2")][..],
            &[("cookie", "ferrocast_session=")][..],
            &[][..],
        ] {
            assert_eq!(caller_token(&headers(pairs)), None, "{pairs:?}");
        }
    }
}
