//! API and SSE forwarding, private paths, upstream failures, limits and security headers.

use std::time::Duration;

use ferrocast_gateway::{Config, Tuning};
use serde_json::Value;

use crate::support::{client, closed_url, echo_upstream, no_dist, Gateway, Rooms};

#[tokio::test]
async fn api_requests_keep_method_body_status_and_cookies() {
    let (users, _) = echo_upstream().await;
    let (rooms, _) = Rooms::start().await;
    let dist = no_dist();
    let gateway = Gateway::with(&users, &rooms, dist.path()).await;

    let response = client()
        .post(gateway.at("/api/users/login?next=%2Fdashboard"))
        .header("content-type", "application/json")
        .header("cookie", "ferrocast_session=old")
        .header("authorization", "Bearer t0k3n")
        .header("x-test-status", "201")
        .body(r#"{"login":"alice","password":"hunter22"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2, "every Set-Cookie passes: {cookies:?}");
    let echoed: Value = response.json().await.expect("json");
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/api/users/login?next=%2Fdashboard");
    assert_eq!(echoed["body"], r#"{"login":"alice","password":"hunter22"}"#);
    assert_eq!(echoed["cookie"], "ferrocast_session=old");
    assert_eq!(echoed["authorization"], "Bearer t0k3n");
    assert_eq!(echoed["content_type"], "application/json");

    let put = client()
        .put(gateway.at("/api/rooms/me/title"))
        .header("x-test-status", "404")
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(put.status(), 404, "upstream status passes through");
    let echoed: Value = put.json().await.expect("json");
    assert_eq!(
        (echoed["method"].as_str(), echoed["path"].as_str()),
        (Some("PUT"), Some("/api/rooms/me/title"))
    );
}

#[tokio::test]
async fn media_and_tags_go_to_the_catalogue_with_their_method_and_query() {
    let (users, _) = echo_upstream().await;
    let (catalog, seen) = echo_upstream().await;
    let dist = no_dist();
    let mut config = Config::for_tests();
    config.routes.users_url = users;
    config.routes.rooms_url = closed_url();
    config.routes.catalog_url = catalog;
    config.routes.frontend_dir = dist.path().to_path_buf();
    let gateway = Gateway::start(config).await;
    for (method, path) in [
        (reqwest::Method::POST, "/api/media"),
        (reqwest::Method::GET, "/api/media?q=speed%20run&tags=games"),
        (
            reqwest::Method::PATCH,
            "/api/media/0b5f7c4e-8d1a-4c7e-9f3b-2a6d8e1c5b7a",
        ),
        (
            reqwest::Method::POST,
            "/api/media/0b5f7c4e-8d1a-4c7e-9f3b-2a6d8e1c5b7a/finalize",
        ),
        (
            reqwest::Method::DELETE,
            "/api/media/0b5f7c4e-8d1a-4c7e-9f3b-2a6d8e1c5b7a",
        ),
        (reqwest::Method::GET, "/api/tags?prefix=ga"),
    ] {
        let response = client()
            .request(method.clone(), gateway.at(path))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{method} {path}");
        let echoed: Value = response.json().await.expect("json");
        assert_eq!(echoed["method"], method.as_str());
        assert_eq!(echoed["path"], path);
    }
    assert_eq!(seen.paths().len(), 6, "every one reached the catalogue");
    let response = client()
        .get(gateway.at("/api/tags/x"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404, "only /api/tags itself");
}

#[tokio::test]
async fn request_id_and_forwarded_for_reach_the_upstream_and_hop_headers_do_not() {
    let (users, _) = echo_upstream().await;
    let dist = no_dist();
    let gateway = Gateway::with(&users, &closed_url(), dist.path()).await;

    let response = client()
        .get(gateway.at("/api/users/me"))
        .header("x-request-id", "req-42")
        .header("x-forwarded-for", "203.0.113.9")
        .header("connection", "x-hop")
        .header("x-hop", "secret")
        .send()
        .await
        .expect("send");
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let echoed: Value = response.json().await.expect("json");
    assert_eq!(echoed["request_id"], "req-42");
    assert_eq!(echoed["forwarded_for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(echoed["connection_header_leaked"], Value::Null);

    let generated: Value = client()
        .get(gateway.at("/api/users/me"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(
        generated["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "the gateway gives every request an id"
    );
}

#[tokio::test]
async fn sse_events_arrive_before_the_upstream_stream_ends() {
    streams_through_the_gateway("/api/events", |config, url| config.routes.rooms_url = url).await;
}

#[tokio::test]
async fn catalogue_progress_events_arrive_before_the_upstream_stream_ends() {
    streams_through_the_gateway(
        "/api/media/progress?ids=0b5f7c4e-8d1a-4c7e-9f3b-2a6d8e1c5b7a",
        |config, url| config.routes.catalog_url = url,
    )
    .await;
}

/// Events at `path` reach the browser as the upstream (pointed at by `route`) sends them, and
/// the stream outlives the gateway's request timeout and idle-read limit.
async fn streams_through_the_gateway(path: &str, route: impl FnOnce(&mut Config, String)) {
    let (rooms, fake_rooms) = Rooms::start().await;
    let feed = fake_rooms.event_feed();
    let dist = no_dist();
    // Short request and idle limits: a stream must outlive both.
    let tuning = Tuning {
        idle_read_timeout: Duration::from_millis(300),
        request: ferrocast_kit::http::RequestLimits {
            timeout: Duration::from_millis(500),
            max_body_bytes: 64 * 1024,
        },
        ..Tuning::default()
    };
    let mut config = Config::for_tests();
    route(&mut config, rooms);
    config.routes.frontend_dir = dist.path().to_path_buf();
    config.tuning = tuning;
    let gateway = Gateway::start(config).await;

    let mut response = client().get(gateway.at(path)).send().await.expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(response.headers().get("content-encoding").is_none());

    for round in 0..2 {
        let event = format!(
            "event: viewers_changed\ndata: {{\"username\":\"alice\",\"viewers\":{round}}}\n\n"
        );
        feed.send(event.clone()).await.expect("feed");
        let chunk = tokio::time::timeout(Duration::from_secs(3), response.chunk())
            .await
            .expect("event forwarded while the upstream stream is still open")
            .expect("read")
            .expect("a chunk");
        assert_eq!(String::from_utf8_lossy(&chunk), event);
        // Quiet for longer than the request timeout and the idle-read limit.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    drop(feed);
    let end = tokio::time::timeout(Duration::from_secs(3), response.chunk())
        .await
        .expect("stream ends");
    assert!(
        matches!(end, Ok(None)),
        "the stream ends when upstream ends it"
    );
}

#[tokio::test]
async fn internal_and_callback_paths_are_not_exposed() {
    let (users, users_seen) = echo_upstream().await;
    let (rooms, fake_rooms) = Rooms::start().await;
    fake_rooms.set_live("victim", "http://127.0.0.1:9");
    let dist = no_dist();
    std::fs::write(dist.path().join("index.html"), "<html>spa</html>").expect("index");
    let gateway = Gateway::with(&users, &rooms, dist.path()).await;

    for path in [
        "/internal/rooms/victim",
        "/internal",
        "/callbacks/rtmp",
        "/callbacks",
        "/api/internal/rooms/victim",
        "/api/rooms/../../internal/rooms/victim",
        "/api/rooms/%2e%2e/%2e%2e/internal/rooms/victim",
        "/api/rooms/%2E%2E/%2E%2E/callbacks/rtmp",
        "/api/users/..%2f..%2finternal/rooms/victim",
        "/api/events/../../internal/rooms/victim",
    ] {
        let (status, text) = gateway.raw_get(path).await;
        assert!(status == 400 || status == 404, "{path} answered {status}");
        assert!(
            text.contains("\"error\""),
            "{path}: JSON error expected, got {text}"
        );
        assert!(
            !text.contains("spa") && !text.contains("session_id"),
            "{path} leaked: {text}"
        );
    }
    let reached: Vec<_> = fake_rooms
        .seen
        .paths()
        .into_iter()
        .chain(users_seen.paths())
        .collect();
    assert!(reached.is_empty(), "upstreams were reached: {reached:?}");
    assert_eq!(fake_rooms.lookups(), 0);
}

#[tokio::test]
async fn unknown_api_paths_are_json_404_not_the_spa() {
    let dist = no_dist();
    std::fs::write(dist.path().join("index.html"), "<html>spa</html>").expect("index");
    let gateway = Gateway::with(&closed_url(), &closed_url(), dist.path()).await;
    for path in ["/api", "/api/nope", "/api/events/extra", "/hls"] {
        let response = client().get(gateway.at(path)).send().await.expect("send");
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn upstream_down_is_502_json() {
    let dist = no_dist();
    let gateway = Gateway::with(&closed_url(), &closed_url(), dist.path()).await;
    for path in ["/api/users/me", "/api/rooms", "/api/events"] {
        let response = client().get(gateway.at(path)).send().await.expect("send");
        assert_eq!(response.status(), 502, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/json")));
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "bad_gateway", "{path}");
    }
}

#[tokio::test]
async fn slow_upstream_is_504_json() {
    let slow = crate::support::serve(axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    }))
    .await;
    let dist = no_dist();
    let mut config = Config::for_tests();
    config.routes.users_url = slow;
    config.routes.frontend_dir = dist.path().to_path_buf();
    config.tuning.response_timeout = Duration::from_millis(300);
    let gateway = Gateway::start(config).await;
    let response = client()
        .get(gateway.at("/api/users/me"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 504);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "gateway_timeout");
}

#[tokio::test]
async fn oversized_api_body_is_413_and_never_forwarded() {
    let (users, seen) = echo_upstream().await;
    let dist = no_dist();
    let gateway = Gateway::with(&users, &closed_url(), dist.path()).await;
    let response = client()
        .post(gateway.at("/api/users"))
        .body(vec![b'x'; 65 * 1024])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "payload_too_large");

    // Chunked, no Content-Length: the limit holds while reading.
    let stream = futures::stream::iter((0..65).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024])));
    let response = client()
        .post(gateway.at("/api/users"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    assert!(
        seen.paths().is_empty(),
        "nothing reached users: {:?}",
        seen.paths()
    );
}

#[tokio::test]
async fn security_headers_are_on_every_answer() {
    let (users, _) = echo_upstream().await;
    let dist = no_dist();
    std::fs::write(dist.path().join("index.html"), "<html>spa</html>").expect("index");
    let gateway = Gateway::with(&users, &closed_url(), dist.path()).await;
    for path in [
        "/",
        "/watch/alice",
        "/api/users/me",
        "/api/rooms",
        "/hls/x/y",
        "/internal/x",
        "/healthz",
        "/metrics",
    ] {
        let response = client().get(gateway.at(path)).send().await.expect("send");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        for directive in [
            "default-src 'self'",
            "media-src 'self' blob:",
            "worker-src 'self' blob:",
            "img-src 'self' data: blob:",
            "connect-src 'self' http://127.0.0.1:8333",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} missing from {csp}"
            );
        }
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
}

#[tokio::test]
async fn readiness_and_metrics_are_served_on_the_internal_listener_only() {
    let (users, _) = echo_upstream().await;
    let (rooms, _) = Rooms::start().await;
    let dist = no_dist();
    std::fs::write(dist.path().join("index.html"), "<html>spa</html>").expect("index");
    let ready = Gateway::with(&users, &rooms, dist.path()).await;
    assert_ne!(ready.url, ready.internal_url);
    for url in [ready.at("/healthz"), ready.internal_at("/healthz")] {
        let status = client().get(&url).send().await.expect("send").status();
        assert_eq!(status, 200, "{url}");
    }
    let status =
        |url: String| async move { client().get(url).send().await.expect("send").status() };
    assert_eq!(status(ready.internal_at("/readyz")).await, 200);

    let unready = Gateway::with(&closed_url(), &rooms, dist.path()).await;
    let response = client()
        .get(unready.internal_at("/readyz"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert!(body["failing"]["users"].is_string(), "{body}");
    assert!(body["failing"].get("rooms").is_none(), "{body}");

    client()
        .get(ready.at("/api/users/me"))
        .send()
        .await
        .expect("send");
    let metrics = client()
        .get(ready.internal_at("/metrics"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/users/{*rest}\""),
        "public requests are counted: {metrics}"
    );

    // The public listener answers them as unknown paths: JSON 404, not the SPA, no metric text,
    // whatever the method or an appended segment.
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
    for gateway in [&ready, &unready] {
        for (method, path) in [
            (&get, "/metrics"),
            (&get, "/readyz"),
            (&get, "/metrics/"),
            (&get, "/readyz/x"),
            (&post, "/metrics"),
            (&post, "/readyz"),
        ] {
            let response = client()
                .request(method.clone(), gateway.at(path))
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 404, "{method} {path}");
            let body: Value = response.json().await.expect("a JSON error");
            assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
            let text = body.to_string();
            assert!(
                !text.contains("http_requests") && !text.contains("failing"),
                "{path}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn hsts_is_sent_only_when_a_trusted_proxy_reports_https() {
    let (users, _) = echo_upstream().await;
    let dist = no_dist();
    std::fs::write(dist.path().join("index.html"), "<html>spa</html>").expect("index");
    let mut config = Config::for_tests();
    config.routes.users_url = users.clone();
    config.routes.rooms_url = closed_url();
    config.routes.frontend_dir = dist.path().to_path_buf();
    // The test client is the TLS proxy; 127.0.0.2 plays a client reaching the gateway directly.
    config.listen.trusted_proxies = "127.0.0.1/32".parse().expect("valid");
    let gateway = Gateway::start(config).await;
    let untrusted = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let hsts = |response: &reqwest::Response| {
        response
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    for path in ["/", "/api/users/me", "/nothing.js"] {
        let response = client()
            .get(gateway.at(path))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .expect("send");
        assert_eq!(
            hsts(&response).as_deref(),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
        for (who, request) in [
            (
                "trusted, plain http",
                client()
                    .get(gateway.at(path))
                    .header("x-forwarded-proto", "http"),
            ),
            ("trusted, no header", client().get(gateway.at(path))),
            (
                "untrusted claiming https",
                untrusted
                    .get(gateway.at(path))
                    .header("x-forwarded-proto", "https"),
            ),
        ] {
            let response = request.send().await.expect("send");
            assert_eq!(hsts(&response), None, "{who} {path}");
        }
    }

    // No trusted proxies configured (the default): nobody is believed.
    let default = Gateway::with(&users, &closed_url(), dist.path()).await;
    let response = client()
        .get(default.at("/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("send");
    assert_eq!(hsts(&response), None);
}
