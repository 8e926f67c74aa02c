//! B1 slowloris and slow body against every HTTP listener; B2 path traversal and odd names on
//! every path parameter, through the gateway and directly at the services, with canary files
//! planted outside the HLS root and the frontend folder.
#![allow(clippy::unwrap_used)]

use std::{net::SocketAddr, process::Stdio, time::Duration};

use ferrocast_testkit::{
    heavy, hls,
    http::{raw_get, raw_request},
    publisher, Options, Platform,
};
use tokio::time::Instant;

/// Connections per slowhttptest run: 300 (the brief's number) unless the fd limit of this
/// process (which holds every service's sockets) is too small for five runs at once.
fn attack_connections() -> u32 {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<u32>().ok())
        })
        .unwrap_or(1024);
    (soft / 8).clamp(50, 300)
}

/// Starts one bounded slowhttptest run (15 s, a new header line every 5 s), its report in `out`.
fn slowhttptest(
    mode: &str,
    url: &str,
    content_type: &str,
    connections: u32,
    out: &std::path::Path,
) -> Attack {
    let report = std::fs::File::create(out).unwrap();
    let child = tokio::process::Command::new("slowhttptest")
        .arg(mode)
        .args(["-f", content_type])
        .args(["-c", &connections.to_string(), "-l", "15", "-i", "5"])
        .args(["-r", "200", "-p", "3", "-x", "24", "-s", "8192"])
        .args(["-u", url])
        .stdin(Stdio::null())
        .stdout(report)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("slowhttptest (Debian package slowhttptest)");
    Attack {
        _child: child,
        report: out.to_path_buf(),
    }
}

struct Attack {
    _child: tokio::process::Child,
    report: std::path::PathBuf,
}

impl Attack {
    /// Most connections slowhttptest held open at once and how many the server closed: proof
    /// the attack was real (and that the server sheds it).
    fn peak(&self) -> (u32, u32) {
        let text = std::fs::read_to_string(&self.report).unwrap_or_default();
        let mut plain = String::new();
        let mut escape = false;
        for c in text.chars() {
            match (escape, c) {
                (false, '\u{1b}') => escape = true,
                (true, 'm') => escape = false,
                (true, _) => {}
                (false, c) => plain.push(c),
            }
        }
        let max = |label: &str| {
            plain
                .lines()
                .filter_map(|l| l.trim().strip_prefix(label))
                .filter_map(|v| v.trim().parse::<u32>().ok())
                .max()
                .unwrap_or(0)
        };
        (max("connected:"), max("closed:"))
    }
}

/// Honest requests on fresh connections every 250 ms to every `(name, url)` while the attack
/// runs; returns the worst latency per target and any failures.
async fn honest_probes(
    targets: &[(&str, String)],
    period: Duration,
) -> (Vec<(String, Duration)>, Vec<String>) {
    // No pooled connections: a slowloris fills accept queues and connection slots, which a
    // reused keep-alive connection would never notice.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut worst = vec![Duration::ZERO; targets.len()];
    let mut failures = Vec::new();
    let end = Instant::now() + period;
    while Instant::now() < end {
        for (i, (name, url)) in targets.iter().enumerate() {
            let started = Instant::now();
            match client.get(url).send().await {
                Ok(response) if response.status().as_u16() < 500 => {}
                Ok(response) => failures.push(format!("{name}: status {}", response.status())),
                Err(error) => failures.push(format!("{name}: {error}")),
            }
            worst[i] = worst[i].max(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let worst = targets
        .iter()
        .zip(worst)
        .map(|((n, _), w)| ((*n).to_owned(), w))
        .collect();
    (worst, failures)
}

fn targets(platform: &Platform) -> Vec<(&'static str, String)> {
    let mut targets = vec![
        ("gateway", platform.gateway_url("/api/rooms")),
        ("users", platform.users_url("/healthz")),
        ("rooms", platform.rooms_url("/api/rooms")),
        (
            "ingest",
            format!("http://{}/healthz", platform.ingest_http.unwrap()),
        ),
    ];
    if platform.hls_origin.is_some() {
        targets.push(("ingest-hls", platform.hls_url("/hls/nobody/master.m3u8")));
    }
    targets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1_slowloris_on_every_listener_leaves_honest_requests_under_a_second() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options {
        media: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let targets = targets(&platform);
    let connections = attack_connections();
    let reports = tempfile::tempdir().unwrap();
    let attacks: Vec<_> = targets
        .iter()
        .map(|(name, url)| {
            slowhttptest(
                "-H",
                url,
                "application/x-www-form-urlencoded",
                connections,
                &reports.path().join(name),
            )
        })
        .collect();
    // Let the attackers open their connections before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (worst, failures) = honest_probes(&targets, Duration::from_secs(14)).await;
    let peaks: Vec<_> = attacks.iter().map(Attack::peak).collect();
    drop(attacks);
    eprintln!("B1 slowloris, {connections} connections per target, (held, closed by server): {peaks:?}, worst honest latency: {worst:?}");
    for ((name, _), (held, _)) in targets.iter().zip(&peaks) {
        assert!(
            *held >= connections / 2,
            "the attack on {name} never held more than {held} connections: not a real test"
        );
    }
    assert!(failures.is_empty(), "honest requests failed: {failures:?}");
    for (name, latency) in worst {
        assert!(
            latency < Duration::from_secs(1),
            "{name}: an honest request took {latency:?} during the slowloris"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1_slow_body_on_every_listener_leaves_honest_requests_under_a_second() {
    let _heavy = heavy().await;
    let platform = Platform::start(Options::default()).await.unwrap();
    // Slow bodies go where bodies are read: login and signup (users, through the gateway too),
    // the rooms callback, and the ingest (no POST route: it must answer without reading).
    let bodies = [
        (platform.gateway_url("/api/users/login"), "application/json"),
        (platform.users_url("/api/users"), "application/json"),
        (
            platform.rooms_url("/callbacks/rtmp"),
            "application/x-www-form-urlencoded",
        ),
        (
            format!("http://{}/healthz", platform.ingest_http.unwrap()),
            "application/json",
        ),
    ];
    let connections = attack_connections();
    let reports = tempfile::tempdir().unwrap();
    let attacks: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, (url, content_type))| {
            slowhttptest(
                "-B",
                url,
                content_type,
                connections,
                &reports.path().join(i.to_string()),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (worst, failures) = honest_probes(&targets(&platform), Duration::from_secs(14)).await;
    let peaks: Vec<_> = attacks.iter().map(Attack::peak).collect();
    eprintln!("B1 slow body, {connections} connections per target, (held, closed by server): {peaks:?}, worst honest latency: {worst:?}");
    for (((url, _), (held, _)), attack) in bodies.iter().zip(&peaks).zip(&attacks) {
        // A route that answers before reading the body (the ingest has no POST route: 405)
        // sheds the attack at once, which slowhttptest reports as no connection left.
        let shed = std::fs::read_to_string(&attack.report)
            .unwrap_or_default()
            .contains("No open connections left");
        assert!(
            *held >= connections / 2 || shed,
            "the attack on {url} never held more than {held} connections: not a real test\n{}",
            std::fs::read_to_string(&attack.report).unwrap_or_default()
        );
    }
    assert!(failures.is_empty(), "honest requests failed: {failures:?}");
    for (name, latency) in worst {
        assert!(
            latency < Duration::from_secs(1),
            "{name}: an honest request took {latency:?} during the slow-body attack"
        );
    }
}

/// Segments an attacker puts where a username, rendition or file name belongs.
fn odd_segments() -> Vec<Vec<u8>> {
    let mut odd: Vec<Vec<u8>> = [
        "..",
        ".",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "..%2f..%2fcanary.txt",
        "..%2F..%2F..%2Fcanary.txt",
        "..%5c..%5ccanary.txt",
        "%252e%252e%252fcanary.txt",
        "....%2f%2fcanary.txt",
        "%00",
        "a%00b",
        "master.m3u8%00.ts",
        "%C3%A9t%C3%A9",
        "%E2%80%AE",
        "%F0%9F%98%80",
        "%ff%fe",
        "~root",
        "%20",
        "canary.txt",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    odd.push(vec![b'a'; 10_240]);
    odd.push("é".repeat(3_000).into_bytes());
    odd
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const CANARY: &str = "ferrocast-canary-7f1d2c";

/// Every request target B2 tries for a live `user` with rendition `rendition`.
fn traversal_targets(user: &str, rendition: &str) -> Vec<Vec<u8>> {
    let u = user.as_bytes();
    let r = rendition.as_bytes();
    let mut targets = Vec::new();
    for odd in odd_segments() {
        let o = odd.as_slice();
        // HLS: username, rendition and file positions.
        targets.push(join(&[b"/hls/", o, b"/master.m3u8"]));
        targets.push(join(&[b"/hls/", u, b"/", o]));
        targets.push(join(&[b"/hls/", u, b"/", o, b"/index.m3u8"]));
        targets.push(join(&[b"/hls/", u, b"/", r, b"/", o]));
        targets.push(join(&[b"/hls/", u, b"/", o, b"/", o]));
        targets.push(join(&[b"/hls/", o, b"/", r, b"/index.m3u8"]));
        // rooms: the username parameter.
        targets.push(join(&[b"/api/rooms/", o]));
        targets.push(join(&[b"/api/rooms/", o, b"/viewers"]));
    }
    // Multi-segment climbs out of the session folder towards the canaries.
    for climb in [
        "/hls/{u}/{r}/../../../canary.txt",
        "/hls/{u}/../../canary.txt",
        "/hls/{u}/{r}/%2e%2e/%2e%2e/%2e%2e/canary.txt",
        "/hls/{u}/{r}/%2e%2e%2f%2e%2e%2f%2e%2e%2fcanary.txt",
        "/hls/{u}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/canary.txt",
        "/hls/%2e%2e/%2e%2e/canary.txt",
        "/hls/..%2f..%2fcanary.txt/master.m3u8",
        "/hls/{u}/{r}/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/api/rooms/%2e%2e/%2e%2e/internal/rooms/{u}",
        "/api/rooms/../../internal/rooms/{u}",
        "/api/rooms/..%2f..%2finternal%2frooms%2f{u}",
        "/api/users/..%2f..%2fcallbacks%2frtmp",
        "/api/users/../../callbacks/rtmp",
        "/internal/rooms/{u}",
        "/callbacks/rtmp",
        "/../canary.txt",
        "/%2e%2e/canary.txt",
        "/%2e%2e%2fcanary.txt",
        "/assets/..%2f..%2fcanary.txt",
        "/..%5c..%5ccanary.txt",
    ] {
        targets.push(
            climb
                .replace("{u}", user)
                .replace("{r}", rendition)
                .into_bytes(),
        );
    }
    // A literal NUL and a raw space in the target (not percent-encoded).
    targets.push(join(&[b"/hls/", u, b"/", r, b"/index.m3u8\0.txt"]));
    targets.push(join(&[b"/hls/", u, b"\0/master.m3u8"]));
    targets
}

/// What leaks: the canary, the internal lookup's fields, or /etc/passwd.
fn leaks(text: &str) -> bool {
    text.contains(CANARY) || text.contains("session_id") || text.contains("root:x:0:0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2_traversal_and_odd_names_get_400_or_404_and_never_a_file_outside_the_root() {
    let _heavy = heavy().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("srv").join("hls");
    std::fs::create_dir_all(&root).unwrap();
    // Canaries one, two and three levels above the HLS root, and inside it next to user folders.
    for canary in [
        dir.path().join("canary.txt"),
        dir.path().join("srv").join("canary.txt"),
        root.join("canary.txt"),
    ] {
        std::fs::write(&canary, CANARY).unwrap();
    }
    let platform = Platform::start(Options {
        media: true,
        hls_root: Some(root.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let streamer = platform.streamer().await;
    let mut ffmpeg = publisher::publish(&platform.rtmp_url(&streamer.key));
    let origin = format!("http://{}", platform.hls_origin.unwrap());
    let variant = hls::wait_for_segments(
        &platform.http,
        &origin,
        &streamer.username,
        1,
        Duration::from_secs(30),
    )
    .await
    .expect("the publish produces segments");
    // A canary inside the live session's folder too (the session folder is the user's only one).
    let user_dir = root.join(&streamer.username);
    for entry in std::fs::read_dir(&user_dir).unwrap() {
        std::fs::write(entry.unwrap().path().join("canary.txt"), CANARY).unwrap();
    }
    let rendition = variant.split('/').next().unwrap().to_owned();

    let servers: [(&str, SocketAddr); 3] = [
        ("gateway", platform.gateway_http()),
        ("ingest-hls", platform.hls_origin.unwrap()),
        ("rooms", platform.rooms_http()),
    ];
    let mut bad = Vec::new();
    let mut tried = 0;
    for target in traversal_targets(&streamer.username, &rendition) {
        for (name, addr) in servers {
            tried += 1;
            let response = if target.ends_with(b"/viewers") {
                // The heartbeat route is POST-only; a GET would only prove the method check.
                let body = br#"{"viewer_id":"v1"}"#;
                let mut request = b"POST ".to_vec();
                request.extend_from_slice(&target);
                request.extend_from_slice(
                    format!(
                        " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                request.extend_from_slice(body);
                raw_request(addr, &request).await
            } else {
                raw_get(addr, &target).await
            };
            let shown = String::from_utf8_lossy(&target[..target.len().min(120)]).into_owned();
            let internal_path = shown.starts_with("/internal/") || shown.starts_with("/callbacks/");
            if leaks(&response.text) && !(name == "rooms" && internal_path) {
                bad.push(format!("{name} {shown}: LEAK {}", response.status));
                continue;
            }
            let allowed = match name {
                // The services' own private routes answer on their own listener; what matters
                // is that the gateway never forwards them and nothing leaks.
                "rooms" if internal_path => true,
                // The gateway's SPA fallback may answer unknown browser paths with index.html.
                "gateway" if response.status == 200 => {
                    response.body().contains("<title>ferrocast</title>")
                        && !shown.starts_with("/hls/")
                        && !shown.starts_with("/api/")
                }
                _ => matches!(response.status, 400 | 404),
            };
            if !allowed {
                bad.push(format!("{name} {shown}: status {}", response.status));
            }
        }
    }
    // The legitimate request still works (the allowlist is not simply refusing everything).
    let honest = raw_get(
        platform.gateway_http(),
        format!("/hls/{}/{variant}", streamer.username).as_bytes(),
    )
    .await;
    assert_eq!(honest.status, 200, "{}", honest.text);
    // A POST with a traversal in the callback path, straight at rooms' public listener.
    let smuggled = raw_request(
        platform.gateway_http(),
        b"POST /api/rooms/..%2f..%2fcallbacks%2frtmp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\nConnection: close\r\n\r\ncall=publish",
    )
    .await;
    if !matches!(smuggled.status, 400 | 404 | 405) {
        bad.push(format!(
            "gateway POST smuggled callback: {}",
            smuggled.status
        ));
    }
    let _ = ffmpeg.kill().await;
    eprintln!("B2: {tried} requests, {} unexpected", bad.len());
    assert!(bad.is_empty(), "unexpected answers:\n{}", bad.join("\n"));
}

/// Sends a request head one header line a second and never finishes it; returns how long the
/// server took to close the connection (`None`: still open after `limit`).
async fn slow_header_closed_after(addr: SocketAddr, limit: Duration) -> Option<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .ok()?;
    let mut buffer = [0u8; 1024];
    while started.elapsed() < limit {
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            // An answer (408/400) before closing is fine too.
            Ok(Ok(_)) => {}
            Err(_) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1_every_listener_closes_a_slow_header_connection_after_its_header_timeout() {
    let platform = Platform::start(Options {
        media: true,
        header_read_timeout: Duration::from_secs(2),
        ..Options::default()
    })
    .await
    .unwrap();
    let listeners = [
        ("gateway", platform.gateway_http()),
        ("users", platform.users_http),
        ("rooms", platform.rooms_http()),
        ("ingest", platform.ingest_http.unwrap()),
        ("ingest-hls", platform.hls_origin.unwrap()),
    ];
    let results = futures::future::join_all(
        listeners
            .iter()
            .map(|(_, addr)| slow_header_closed_after(*addr, Duration::from_secs(12))),
    )
    .await;
    eprintln!(
        "B1 slow header closed after: {:?}",
        listeners
            .iter()
            .map(|l| l.0)
            .zip(&results)
            .collect::<Vec<_>>()
    );
    for ((name, _), closed) in listeners.iter().zip(results) {
        // users, rooms and ingest (whose listener also serves /hls) use the kit's default 5 s
        // header timeout; the gateway the 2 s the test configured.
        let closed = closed.unwrap_or_else(|| panic!("{name} kept a slow-header connection open"));
        assert!(
            closed < Duration::from_millis(6_500),
            "{name} closed the slow-header connection only after {closed:?}"
        );
    }
}
