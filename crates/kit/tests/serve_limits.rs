//! The HTTP server every service uses enforces its limits: a client that never finishes its
//! request head is cut off, oversized bodies get 413, slow handlers 408, and honest requests
//! are served meanwhile.

use std::time::Duration;

use axum::{routing::post, Router};
use ferrocast_kit::{
    http::{bind, limits, serve, RequestLimits, ServerLimits},
    shutdown::CancellationToken,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn spawn_server() -> (String, CancellationToken) {
    let router = Router::new()
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let router = limits(
        router,
        RequestLimits {
            timeout: Duration::from_millis(300),
            max_body_bytes: 1024,
        },
    );
    let (listener, addr) = bind("127.0.0.1:0").await.expect("bind");
    let shutdown = CancellationToken::new();
    let server_limits = ServerLimits {
        header_read_timeout: Duration::from_millis(500),
        ..ServerLimits::default()
    };
    tokio::spawn(serve(listener, router, server_limits, shutdown.clone()));
    (format!("http://{addr}"), shutdown)
}

#[tokio::test]
async fn unfinished_request_head_is_cut_off_while_honest_requests_are_served() {
    let (base, shutdown) = spawn_server().await;
    let host = base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&host).await.expect("connect");
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial head");

    let honest = reqwest::Client::new()
        .post(format!("{base}/echo"))
        .body("hello")
        .send()
        .await
        .expect("honest request");
    assert_eq!(honest.text().await.expect("body"), "hello");

    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "the server kept a half-sent request open past its header timeout"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn oversized_body_gets_413_and_slow_handler_gets_408() {
    let (base, shutdown) = spawn_server().await;
    let client = reqwest::Client::new();
    let big = client
        .post(format!("{base}/echo"))
        .body("x".repeat(4096))
        .send()
        .await
        .expect("big request");
    assert_eq!(big.status(), 413);
    let envelope: serde_json::Value = big.json().await.expect("json error envelope");
    assert_eq!(envelope["error"]["code"], "payload_too_large");

    let slow = client
        .post(format!("{base}/slow"))
        .send()
        .await
        .expect("slow request");
    assert_eq!(slow.status(), 408);
    let envelope: serde_json::Value = slow.json().await.expect("json error envelope");
    assert_eq!(envelope["error"]["code"], "timeout");
    shutdown.cancel();
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let (base, shutdown) = spawn_server().await;
    let response = reqwest::Client::new()
        .post(format!("{base}/echo"))
        .body("id")
        .send()
        .await
        .expect("request");
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(id.len(), 36, "expected a uuid request id, got {id:?}");
    shutdown.cancel();
}

/// Regression for finding R-4: a client polling every header-timeout interval over keep-alive
/// raced the server's idle close. Clients that follow `CLIENT_POOL_IDLE_TIMEOUT` never reuse a
/// connection the server is about to close.
#[tokio::test]
async fn polling_at_the_servers_idle_limit_never_hits_a_closing_connection() {
    let router = Router::new().route("/echo", post(|body: String| async move { body }));
    let (listener, addr) = bind("127.0.0.1:0").await.expect("bind");
    let shutdown = CancellationToken::new();
    // The server closes idle connections after 1 s here; the client keeps them 400 ms, in the
    // same proportion as the defaults (5 s and CLIENT_POOL_IDLE_TIMEOUT).
    let server_limits = ServerLimits {
        header_read_timeout: Duration::from_millis(1000),
        ..ServerLimits::default()
    };
    assert!(
        ferrocast_kit::http::CLIENT_POOL_IDLE_TIMEOUT * 2
            < ServerLimits::default().header_read_timeout,
        "clients must drop idle connections well before servers close them"
    );
    tokio::spawn(serve(listener, router, server_limits, shutdown.clone()));
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_millis(400))
        .build()
        .expect("client");
    for round in 0..12 {
        // Around the server's idle limit, on both sides of it.
        tokio::time::sleep(Duration::from_millis(950 + (round % 4) * 25)).await;
        let response = client
            .post(format!("http://{addr}/echo"))
            .body("ping")
            .send()
            .await;
        assert!(response.is_ok(), "round {round}: {response:?}");
    }
    shutdown.cancel();
}
