//! The sharded server: one port, several single-threaded runtimes, connections spread over
//! them by the kernel, the header-read timeout and connection cap still enforced, and a clean
//! stop on shutdown.

use std::{convert::Infallible, time::Duration};

use axum::body::Body;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::*;

/// A server whose answer names the thread (shard) that served it.
async fn start(limits: ServerLimits) -> (String, CancellationToken, impl std::future::Future) {
    let shutdown = CancellationToken::new();
    let (addr, stopped) = serve_sharded("127.0.0.1:0", 2, limits, shutdown.clone(), |_peer| {
        hyper::service::service_fn(|_request| async {
            let shard = std::thread::current().name().unwrap_or("?").to_owned();
            Ok::<_, Infallible>(axum::http::Response::new(Body::from(shard)))
        })
    })
    .await
    .expect("bind");
    (addr.to_string(), shutdown, stopped)
}

/// One request on a fresh connection; the body, or `None` if the server closed it unanswered.
async fn ask(addr: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    answer.split("\r\n\r\n").nth(1).map(str::to_owned)
}

#[tokio::test]
async fn connections_are_spread_over_every_shard_of_one_port() {
    let (addr, shutdown, stopped) = start(ServerLimits::default()).await;
    let mut shards = std::collections::BTreeSet::new();
    // The kernel hashes each connection's addresses: 40 connections all landing on one of two
    // shards has a chance of 2^-39.
    for _ in 0..40 {
        shards.insert(ask(&addr).await.expect("answered"));
    }
    assert_eq!(
        shards.into_iter().collect::<Vec<_>>(),
        ["http-shard-0", "http-shard-1"]
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("every shard stopped");
    assert!(TcpStream::connect(&addr).await.is_err(), "port released");
}

#[tokio::test]
async fn limits_hold_across_shards() {
    let limits = ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 2,
        ..ServerLimits::default()
    };
    let (addr, shutdown, _stopped) = start(limits).await;
    // Two idle connections take both slots, whichever shards they landed on.
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\n")
            .await
            .expect("half a head");
        idle.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ask(&addr).await, None, "a third connection is refused");
    // The header-read timeout frees them, and the server serves again.
    for stream in &mut idle {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest))
            .await
            .expect("cut off after the header-read timeout")
            .expect("read");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(ask(&addr)
        .await
        .is_some_and(|shard| shard.starts_with("http-shard-")));
    shutdown.cancel();
}
