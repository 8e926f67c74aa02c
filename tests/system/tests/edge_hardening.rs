//! E1 the gateway's operations endpoints are off the public listener, E2 HSTS only behind a
//! trusted TLS proxy, E3 the CSP pins form targets and `<base>`, E4 room titles refuse Unicode
//! format characters (bidi overrides, zero-width), all against the real platform.
#![allow(clippy::unwrap_used)]

use std::{net::IpAddr, time::Duration};

use ferrocast_testkit::http::Fetch;
use ferrocast_testkit::{http::raw_get, Options, Platform};
use serde_json::{json, Value};

/// Text only a Prometheus exposition or a readiness answer contains.
const OPERATIONS_TEXT: &[&str] = &[
    "http_requests_total",
    "# TYPE",
    "http_request_duration_seconds",
    "\"ready\"",
    "failing",
];

fn leaks_operations(text: &str) -> Option<&'static str> {
    OPERATIONS_TEXT.iter().copied().find(|t| text.contains(t))
}

#[tokio::test]
async fn e1_metrics_and_readiness_answer_only_on_the_internal_listener() {
    let mut platform = Platform::start(Options::without_ingest()).await.unwrap();
    let http = platform.http.clone();
    // Public traffic first, so the metrics have something to show.
    assert_eq!(
        http.fetch(&platform.gateway_url("/api/rooms"))
            .await
            .status(),
        200
    );

    // The internal listener serves all three.
    let internal_addr = platform.gateway_internal();
    let internal = move |path: &str| format!("http://{internal_addr}{path}");
    let metrics = http.fetch(&internal("/metrics")).await;
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("http_requests_total") && metrics.contains("route=\"/api/rooms\""),
        "public requests are counted on the internal listener: {metrics}"
    );
    let ready = http.fetch(&internal("/readyz")).await;
    assert_eq!(ready.status(), 200);
    for path in ["/healthz"] {
        for url in [internal(path), platform.gateway_url(path)] {
            assert_eq!(http.fetch(&url).await.status(), 200, "{url}");
        }
    }

    // The public listener: exactly these paths are a JSON 404 for any method, and no spelling
    // of them (encodings, dot segments, doubled slashes, absolute form) shows metrics or readiness.
    let mut tried = 0;
    for path in ["/metrics", "/readyz"] {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::HEAD,
        ] {
            let response = http
                .request(method.clone(), platform.gateway_url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{method} {path}");
            if method != reqwest::Method::HEAD {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
            }
            tried += 1;
        }
    }
    let odd: &[&[u8]] = &[
        b"/metrics",
        b"/readyz",
        b"/metrics/",
        b"/readyz/",
        b"//metrics",
        b"/./metrics",
        b"/x/../metrics",
        b"/%6detrics",
        b"/%6Detrics",
        b"/re%61dyz",
        b"/metrics%2f",
        b"/metrics;",
        b"/metrics?format=prometheus",
        b"/metrics#x",
        b"/METRICS",
        b"/Readyz",
        b"/api/../metrics",
        b"/hls/../readyz",
        b"http://localhost/metrics",
        b"http://localhost/readyz",
    ];
    for target in odd {
        let answer = raw_get(platform.gateway_http(), target).await;
        let shown = String::from_utf8_lossy(target);
        assert!(answer.status >= 200, "{shown}: no answer");
        assert_eq!(
            leaks_operations(answer.body()),
            None,
            "{shown} ({}) leaks: {}",
            answer.status,
            answer.body()
        );
        tried += 1;
    }

    // The API documents the gateway forwards describe the public surface only.
    for document in ["/api/users/openapi.json", "/api/rooms/openapi.json"] {
        let response = http.fetch(&platform.gateway_url(document)).await;
        assert_eq!(response.status(), 200, "{document}");
        let text = response.text().await.unwrap();
        for private in ["/internal", "/callbacks", "InternalRoom"] {
            assert!(!text.contains(private), "{document} names {private}");
        }
    }

    // With an upstream down, readiness names it and its address: only the internal listener
    // says so.
    platform.stop_users().await;
    let unready = http.fetch(&internal("/readyz")).await;
    assert_eq!(unready.status(), 503);
    let body: Value = unready.json().await.unwrap();
    assert!(body["failing"]["users"].is_string(), "{body}");
    let public = http.fetch(&platform.gateway_url("/readyz")).await;
    assert_eq!(public.status(), 404);
    let text = public.text().await.unwrap();
    assert_eq!(leaks_operations(&text), None, "{text}");
    assert!(!text.contains(&platform.users_http.to_string()), "{text}");
    eprintln!(
        "E1: {tried} public requests for /metrics and /readyz (6 direct, {} spellings): none \
         showed metrics or readiness; internal listener served /metrics ({} bytes), /readyz 200 \
         then 503 naming users",
        odd.len(),
        metrics.len()
    );
}

#[tokio::test]
async fn e2_hsts_is_sent_only_when_a_trusted_proxy_reports_https() {
    // 127.0.0.1 plays the TLS-terminating proxy; 127.0.0.2 a client reaching the gateway
    // directly.
    let platform = Platform::start(Options {
        gateway_trusted_proxies: "127.0.0.1/32".parse().unwrap(),
        ..Options::without_ingest()
    })
    .await
    .unwrap();
    let proxy = &platform.http;
    let direct = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let hsts = |response: &reqwest::Response| {
        response
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (mut with, mut without) = (0, 0);
    for path in [
        "/",
        "/watch/someone",
        "/api/rooms",
        "/api/users/me",
        "/nothing.js",
    ] {
        let url = platform.gateway_url(path);
        let response = proxy
            .get(&url)
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        assert_eq!(
            hsts(&response).as_deref(),
            Some("max-age=31536000; includeSubDomains"),
            "{path} behind the trusted proxy over https"
        );
        with += 1;
        for (case, request) in [
            (
                "trusted proxy, plain http",
                proxy.get(&url).header("x-forwarded-proto", "http"),
            ),
            ("trusted proxy, no header", proxy.get(&url)),
            (
                "trusted proxy, forged https then http appended",
                proxy.get(&url).header("x-forwarded-proto", "https, http"),
            ),
            (
                "direct client claiming https",
                direct.get(&url).header("x-forwarded-proto", "https"),
            ),
            ("direct client, plain http", direct.get(&url)),
        ] {
            let response = request.send().await.unwrap();
            assert_eq!(hsts(&response), None, "{case}: {path}");
            without += 1;
        }
    }
    eprintln!(
        "E2: HSTS on {with}/{with} https answers via the trusted proxy, on 0/{without} others"
    );
}

#[tokio::test]
async fn e3_the_csp_pins_form_targets_and_forbids_base() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    for path in [
        "/",
        "/watch/someone",
        "/api/rooms",
        "/api/users/me",
        "/hls/x/y.m3u8",
    ] {
        let response = platform.http.fetch(&platform.gateway_url(path)).await;
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for expected in [
            "form-action 'self'",
            "base-uri 'none'",
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                directives.contains(&expected),
                "{path}: {expected} missing in {csp}"
            );
        }
    }
}

/// Unicode general category Cf: bidi marks, embeddings, overrides and isolates, zero-width
/// characters, the BOM, invisible operators, interlinear annotations and tags.
const FORMAT_CHARACTERS: &[char] = &[
    '\u{00AD}',
    '\u{061C}',
    '\u{180E}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{200E}',
    '\u{200F}',
    '\u{202A}',
    '\u{202B}',
    '\u{202C}',
    '\u{202D}',
    '\u{202E}',
    '\u{2060}',
    '\u{2061}',
    '\u{2062}',
    '\u{2063}',
    '\u{2064}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{FEFF}',
    '\u{FFF9}',
    '\u{FFFA}',
    '\u{FFFB}',
    '\u{E0001}',
    '\u{E0020}',
    '\u{E007F}',
];

#[tokio::test]
async fn e4_titles_with_format_characters_are_refused_and_the_title_stays() {
    let platform = Platform::start(Options::without_ingest()).await.unwrap();
    let streamer = platform.streamer().await;
    let put = |title: String| {
        platform
            .http
            .put(platform.gateway_url("/api/rooms/me/title"))
            .bearer_auth(&streamer.token)
            .json(&json!({ "title": title }))
            .send()
    };
    let current = || async {
        let response = platform
            .http
            .get(platform.gateway_url("/api/rooms/me/title"))
            .bearer_auth(&streamer.token)
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()["title"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(put("speedrun עברית 🎮".into()).await.unwrap().status(), 200);
    let mut refused = 0;
    for c in FORMAT_CHARACTERS {
        // In the middle, at the start (bidi override spoofing "exe.txt"), and alone.
        for title in [
            format!("free{c}gift"),
            format!("{c}txt.exe"),
            format!("{c}"),
            format!("admin {c} "),
        ] {
            let response = put(title.clone()).await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, 422, "U+{:04X} in {title:?}: {body}", *c as u32);
            assert_eq!(body["error"]["code"], "validation", "{body}");
            assert!(body["error"]["fields"]["title"].is_string(), "{body}");
            refused += 1;
        }
    }
    assert_eq!(current().await, "speedrun עברית 🎮");
    eprintln!(
        "E4: {refused} titles with {} format characters refused (422 validation), title unchanged",
        FORMAT_CHARACTERS.len()
    );
}
