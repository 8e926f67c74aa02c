//! The listener's connection limits over real TCP: a connection that never sends a request head
//! is closed at the first-request deadline whatever protocol it started (the sniff included), an
//! idle HTTP/1 keep-alive connection at the header-read timeout, an idle HTTP/2 connection with
//! GOAWAY at its idle timeout (but not while a request is in flight), and one client address
//! holding its whole per-address cap does not stop another from being served. Clients bind to
//! 127.0.0.2, 127.0.0.3 …: all of 127.0.0.0/8 is loopback on Linux.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use axum::{extract::ConnectInfo, routing::get, Router};
use ferrocast_kit::{
    client::TrustedProxies,
    http::{bind, serve, ServerLimits},
    shutdown::CancellationToken,
};
use ferrocast_testkit::raw_h2::{RawH2, PREFACE};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    time::Instant,
};

/// A server whose `/` names the peer and whose `/slow` answers after 1.5 s.
async fn start(limits: ServerLimits) -> (SocketAddr, CancellationToken) {
    let router = Router::new()
        .route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "done"
            }),
        );
    let (listener, addr) = bind("127.0.0.1:0").await.expect("bind");
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(listener, router, limits, shutdown.clone()));
    (addr, shutdown)
}

/// A TCP connection to `server` from `local` (any port).
async fn connect_from(local: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((local, 0)))
        .expect("bind a loopback address");
    socket.connect(server).await.expect("connect")
}

/// Reads until the server closes `stream` (end of stream or reset); how long that took, or
/// `None` if it was still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut sink))
        .await
        .ok()
        .map(|_| started.elapsed())
}

/// The value of `http_connections_refused_total{reason}` in this process's metrics.
fn refused(reason: &str) -> u64 {
    let label = format!("http_connections_refused_total{{reason=\"{reason}\"}} ");
    ferrocast_kit::metrics::handle()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&label)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_connection_without_a_request_head_is_closed_at_the_deadline_whatever_it_started() {
    ferrocast_kit::metrics::handle();
    let deadline = Duration::from_millis(500);
    let (addr, shutdown) = start(ServerLimits {
        header_read_timeout: deadline,
        ..ServerLimits::default()
    })
    .await;
    let before = refused("first_request_deadline");
    // Nothing at all; the first bytes of the HTTP/2 preface (the sniff cannot decide yet); the
    // whole preface (HTTP/2 chosen, no stream ever opened); half an HTTP/1 request line.
    let openings: [&[u8]; 4] = [b"", &PREFACE[..8], PREFACE, b"GET / HT"];
    let mut silent = Vec::new();
    for opening in openings {
        let connected = Instant::now();
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(opening).await.expect("opening");
        silent.push((stream, connected));
    }
    for ((stream, connected), opening) in silent.iter_mut().zip(openings) {
        let closed = closed_within(stream, Duration::from_secs(10)).await;
        let opening = String::from_utf8_lossy(opening);
        assert!(closed.is_some(), "{opening:?} then silence: never closed");
        // Never before the deadline; later only by scheduling (the 10 s bound is generous).
        let took = connected.elapsed();
        assert!(
            took >= deadline - Duration::from_millis(100),
            "{opening:?}: closed after {took:?}, before its deadline"
        );
    }
    // The first three are closed by the deadline itself (hyper never times them out); the
    // half request line may be closed by hyper's header-read timeout first.
    assert!(
        refused("first_request_deadline") >= before + 3,
        "closes at the first-request deadline are counted"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_at_the_header_read_timeout() {
    let (addr, shutdown) = start(ServerLimits {
        header_read_timeout: Duration::from_millis(500),
        ..ServerLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "an idle keep-alive connection stayed open past the header-read timeout"
    );
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    shutdown.cancel();
}

#[tokio::test]
async fn one_address_holding_its_cap_does_not_stop_another() {
    ferrocast_kit::metrics::handle();
    let (addr, shutdown) = start(ServerLimits {
        // Long enough that no silent connection is closed during the test for being silent.
        header_read_timeout: Duration::from_secs(30),
        max_connections_per_address: 4,
        trusted_proxies: TrustedProxies::none(),
        ..ServerLimits::default()
    })
    .await;
    let before = refused("per_address");
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from([127, 0, 0, 2], addr).await);
    }
    let mut extra = connect_from([127, 0, 0, 2], addr).await;
    let took = closed_within(&mut extra, Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "a connection past the address's cap was left open"
    );

    let other = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 3]))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let answer = other
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("another address is served");
    assert_eq!(answer.text().await.expect("body"), "127.0.0.3");

    // The capped address's own connections are still open: the cap refused, it did not evict.
    for stream in &mut held {
        assert!(
            closed_within(stream, Duration::from_millis(200))
                .await
                .is_none(),
            "a connection within the cap was closed"
        );
    }
    assert!(refused("per_address") > before);
    // Once one closes, the address may connect again.
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from([127, 0, 0, 2], addr).await;
    again
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut answer = String::new();
    again.read_to_string(&mut answer).await.expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    shutdown.cancel();
}

#[tokio::test]
async fn trusted_proxies_are_exempt_from_the_per_address_cap() {
    let (addr, shutdown) = start(ServerLimits {
        header_read_timeout: Duration::from_secs(30),
        max_connections_per_address: 2,
        trusted_proxies: "127.0.0.2".parse().expect("valid"),
        ..ServerLimits::default()
    })
    .await;
    let mut proxy = Vec::new();
    for _ in 0..6 {
        proxy.push(connect_from([127, 0, 0, 2], addr).await);
    }
    for (i, stream) in proxy.iter_mut().enumerate() {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("request");
        let mut answer = String::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "proxy connection {i}: {answer:?}"
        );
    }
    shutdown.cancel();
}

#[tokio::test]
async fn an_idle_http2_connection_gets_goaway_and_is_closed_at_its_idle_timeout() {
    let idle = Duration::from_secs(1);
    let limits = ServerLimits {
        idle_timeout: idle,
        ..ServerLimits::default()
    };
    let first_deadline = limits.header_read_timeout;
    let (addr, shutdown) = start(limits).await;
    let mut h2 = RawH2::start(TcpStream::connect(addr).await.expect("connect"))
        .await
        .expect("preface");
    assert_eq!(h2.get("x", "/").await.expect("request"), 200);
    assert!(
        h2.server_settings().contains(&(3, 100)),
        "SETTINGS_MAX_CONCURRENT_STREAMS = 100 announced: {:?}",
        h2.server_settings()
    );
    let started = Instant::now();
    let ending = h2.until_closed(Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(ending.closed, "an idle HTTP/2 connection was never closed");
    assert!(ending.goaway, "the idle close was not graceful (no GOAWAY)");
    // After the idle timeout, and (generous margin) not only when some other deadline comes.
    assert!(
        took >= idle - Duration::from_millis(200) && took < first_deadline,
        "closed after {took:?} (idle timeout {idle:?})"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_request_in_flight_keeps_an_http2_connection_open_past_its_idle_timeout() {
    let (addr, shutdown) = start(ServerLimits {
        idle_timeout: Duration::from_millis(500),
        ..ServerLimits::default()
    })
    .await;
    let mut h2 = RawH2::start(TcpStream::connect(addr).await.expect("connect"))
        .await
        .expect("preface");
    // Three times the idle timeout in flight, then at once another request on the same
    // connection.
    assert_eq!(h2.get("x", "/slow").await.expect("slow request"), 200);
    assert_eq!(h2.get("x", "/").await.expect("next request"), 200);
    shutdown.cancel();
}
