//! The HLS origin over real HTTP: headers players need, HEAD, the path allowlist against
//! traversal and odd names, offline users, ended sessions, and slow viewers.

use std::{net::SocketAddr, path::Path, time::Duration};

use ferrocast_ingest::adapters::hls::{self, Edge, HlsRegistry};
use ferrocast_testkit::http::exchange;
use ferrocast_testkit::http::Fetch;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

struct Origin {
    addr: SocketAddr,
    registry: HlsRegistry,
    root: tempfile::TempDir,
    _shutdown: tokio_util::sync::DropGuard,
}

/// An origin on port 0, served exactly as `ferrocast_ingest::start` serves it (the cached-file
/// fast path, then the router with its limits), serving `alice` from a session folder.
async fn origin() -> Origin {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("alice").join("s1");
    write(&dir.join("master.m3u8"), b"#EXTM3U\n");
    write(
        &dir.join("720p/index.m3u8"),
        b"#EXTM3U\n#EXTINF:1.0,\ns1_00000.ts\n",
    );
    write(&dir.join("720p/s1_00000.ts"), &[0x47; 188 * 10]);
    write(&dir.join("720p/init.mp4"), b"mp4");
    // Outside any session: must never be reachable.
    write(&root.path().join("secret.ts"), b"secret");
    write(&root.path().join("alice/secret.ts"), b"secret");

    let registry = HlsRegistry::new();
    registry.publish("alice", "s1", dir);
    let shutdown = CancellationToken::new();
    // Two shards, as on a 2-core machine: each request may land on either.
    let (addr, _stopped) = ferrocast_ingest::serve_http(
        "127.0.0.1:0",
        2,
        ferrocast_kit::http::ServerLimits::default(),
        hls::Origin::new(
            registry.clone(),
            hls::FileCache::new(64 * 1024 * 1024, true),
        ),
        shutdown.clone(),
    )
    .await
    .expect("bind");
    Origin {
        addr,
        registry,
        root,
        _shutdown: shutdown.drop_guard(),
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// Sends `path` byte for byte (no client-side normalisation of `..` or escapes) and returns the
/// status code and the raw response.
async fn raw(addr: SocketAddr, method: &str, path: &[u8]) -> (u16, String) {
    let mut request = format!("{method} ").into_bytes();
    request.extend_from_slice(path);
    request.extend_from_slice(
        b" HTTP/1.1\r\nHost: origin\r\nOrigin: https://site.example\r\nConnection: close\r\n\r\n",
    );
    let answer = exchange(addr, &request, Duration::from_secs(5))
        .await
        .expect("answered in time");
    (answer.status, answer.text)
}

async fn body_of(url: &str) -> String {
    client().fetch_text(url).await
}

/// A player's conditional reload: `If-None-Match` with the ETag it has.
async fn revalidate(url: &str, etag: &reqwest::header::HeaderValue) -> reqwest::Response {
    client()
        .get(url)
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("request")
}

/// A playlist version whose newest complete segment is `last`.
fn upto(last: u64) -> Edge {
    Edge {
        sequence: last + 1,
        parts: 0,
    }
}

async fn status_of(url: &str) -> u16 {
    client().fetch(url).await.status().as_u16()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

type HeldRequest = tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>;

/// A `GET` of `url` that the origin still holds after `wait`, because `what` has not happened.
async fn held_get(url: String, wait: Duration, what: &str) -> HeldRequest {
    let held = tokio::spawn(client().get(url).send());
    tokio::time::sleep(wait).await;
    assert!(!held.is_finished(), "answered before {what}");
    held
}

/// The answer to a held request, which must come within a second of what it waited for.
async fn answer_to(held: HeldRequest) -> reqwest::Response {
    tokio::time::timeout(Duration::from_secs(1), held)
        .await
        .expect("answered within a second")
        .expect("task")
        .expect("request")
}

/// A part `packets` TS packets long.
fn ts_part(name: &str, packets: usize) -> std::sync::Arc<hls::PublishedPart> {
    std::sync::Arc::new(hls::PublishedPart::new(
        name.into(),
        bytes::Bytes::from(vec![0x47; 188 * packets]),
    ))
}

#[tokio::test]
async fn playlists_and_segments_have_player_headers() {
    let origin = origin().await;
    let base = format!("http://{}", origin.addr);
    for (path, content_type, cache) in [
        (
            "/hls/alice/master.m3u8",
            "application/vnd.apple.mpegurl",
            "no-cache",
        ),
        (
            "/hls/alice/720p/index.m3u8",
            "application/vnd.apple.mpegurl",
            "no-cache",
        ),
        (
            "/hls/alice/720p/s1_00000.ts",
            "video/mp2t",
            "public, max-age=31536000, immutable",
        ),
        (
            "/hls/alice/720p/init.mp4",
            "video/mp4",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let response = client()
            .get(format!("{base}{path}"))
            .header("Origin", "https://site.example")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["cache-control"], cache, "{path}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
        assert!(!response.bytes().await.expect("body").is_empty());
    }
    let segment = client()
        .fetch(&format!("{base}/hls/alice/720p/s1_00000.ts"))
        .await
        .bytes()
        .await
        .expect("body");
    assert_eq!(segment.len(), 188 * 10);
}

#[tokio::test]
async fn head_answers_headers_without_a_body() {
    let origin = origin().await;
    let (status, text) = raw(origin.addr, "HEAD", b"/hls/alice/720p/s1_00000.ts").await;
    assert_eq!(status, 200, "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("content-length: 1880"), "{text}");
    assert!(lower.contains("content-type: video/mp2t"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "no body after HEAD: {text:?}");
}

#[tokio::test]
async fn a_playlist_rewritten_by_ffmpeg_is_served_fresh_and_revalidates() {
    let origin = origin().await;
    let url = format!("http://{}/hls/alice/720p/index.m3u8", origin.addr);
    let first = client().fetch(&url).await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].clone();
    assert_eq!(
        first.text().await.expect("body"),
        "#EXTM3U\n#EXTINF:1.0,\ns1_00000.ts\n"
    );
    let unchanged = revalidate(&url, &etag).await;
    assert_eq!(unchanged.status(), 304);

    // ffmpeg's temp_file flag: the next window is written aside and renamed over the playlist.
    let dir = origin.root.path().join("alice/s1/720p");
    let next = "#EXTM3U\n#EXTINF:1.0,\ns1_00000.ts\n#EXTINF:1.0,\ns1_00001.ts\n";
    write(&dir.join("index.m3u8.tmp"), next.as_bytes());
    std::fs::rename(dir.join("index.m3u8.tmp"), dir.join("index.m3u8")).expect("rename");
    let changed = revalidate(&url, &etag).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.text().await.expect("body"), next);

    // A segment that left the window is gone at once, not served from memory.
    std::fs::remove_file(dir.join("s1_00000.ts")).expect("remove");
    let gone = client()
        .fetch(&format!(
            "http://{}/hls/alice/720p/s1_00000.ts",
            origin.addr
        ))
        .await;
    assert_eq!(gone.status(), 404);
}

/// The 720p playlist of `alice`'s session `session_id`, published as the native rung does, with
/// 1 s segments.
fn publish_720p(origin: &Origin, session_id: &str) -> hls::PublishedPlaylist {
    hls::PublishedPlaylist::new(
        origin.registry.clone(),
        "alice",
        session_id,
        "720p",
        Duration::from_secs(1),
    )
}

/// What the native passthrough does: each playlist version is handed to the origin as it is
/// written, served without reading the disk, and withdrawn when the rendition stops.
#[tokio::test]
async fn a_playlist_the_ingest_publishes_is_served_from_memory_until_withdrawn() {
    let origin = origin().await;
    let url = format!("http://{}/hls/alice/720p/index.m3u8", origin.addr);
    let published = publish_720p(&origin, "s1");
    // Differs from the file on disk, so the test sees which one is answered.
    let live = "#EXTM3U\n#EXTINF:1.0,\ns1_00000.ts\n#EXTINF:1.0,\ns1_00001.ts\n";
    published.put(
        bytes::Bytes::from_static(live.as_bytes()),
        upto(1),
        &[],
        &[],
    );

    let response = client()
        .get(&url)
        .header("Origin", "https://site.example")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(response.text().await.expect("body"), live);
    let etag = headers["etag"].clone();
    let unchanged = revalidate(&url, &etag).await;
    assert_eq!(unchanged.status(), 304);
    let (status, head) = raw(origin.addr, "HEAD", b"/hls/alice/720p/index.m3u8").await;
    assert_eq!(status, 200);
    assert!(
        head.contains(&format!("content-length: {}", live.len())),
        "{head}"
    );

    // The next version has a new validator.
    let next = format!("{live}#EXTINF:1.0,\ns1_00002.ts\n");
    published.put(bytes::Bytes::from(next.clone()), upto(2), &[], &[]);
    let changed = revalidate(&url, &etag).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.text().await.expect("body"), next);

    // Another session's writer never shows up here.
    let stranger = publish_720p(&origin, "s0");
    stranger.put(
        bytes::Bytes::from_static(b"#EXTM3U\nstale\n"),
        upto(9),
        &[],
        &[],
    );
    assert_eq!(body_of(&url).await, next);

    drop(published);
    assert_eq!(body_of(&url).await, "#EXTM3U\n#EXTINF:1.0,\ns1_00000.ts\n");
}

/// Segments the native rung publishes are read once, for their first viewer, and then answered
/// from memory as long as the writer has them on disk; a name it does not list goes to the disk.
#[tokio::test]
async fn a_published_segment_is_read_once_and_served_while_the_writer_has_it() {
    let origin = origin().await;
    let dir = origin.root.path().join("alice/s1/720p");
    let url = format!("http://{}/hls/alice/720p/s1_00000.ts", origin.addr);
    let published = publish_720p(&origin, "s1");
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\n"),
        upto(0),
        &["s1_00000.ts"],
        &[],
    );

    let response = client().fetch(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "video/mp2t");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let etag = response.headers()["etag"].clone();
    assert_eq!(response.bytes().await.expect("body"), vec![0x47; 188 * 10]);
    assert_eq!(revalidate(&url, &etag).await.status(), 304);

    // Read once: removing the file behind the writer's back no longer changes the answer.
    std::fs::remove_file(dir.join("s1_00000.ts")).expect("remove");
    let (status, head) = raw(origin.addr, "HEAD", b"/hls/alice/720p/s1_00000.ts").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-length: 1880"), "{head}");

    // A listed segment never read and missing on disk, and one the writer no longer has: 404.
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\n"),
        upto(1),
        &["s1_00000.ts", "s1_00001.ts"],
        &[],
    );
    assert_eq!(body_of(&url).await.len(), 188 * 10);
    let never_written = format!("http://{}/hls/alice/720p/s1_00001.ts", origin.addr);
    let missing = client().fetch(&never_written).await;
    assert_eq!(missing.status(), 404);
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\n"),
        upto(2),
        &["s1_00001.ts"],
        &[],
    );
    let gone = client().fetch(&url).await;
    assert_eq!(gone.status(), 404);
}

/// Blocking playlist reload: `_HLS_msn=N` is answered the moment segment N is listed.
#[tokio::test]
async fn a_reload_asking_for_the_next_segment_is_answered_when_it_is_listed() {
    let origin = origin().await;
    let url = format!("http://{}/hls/alice/720p/index.m3u8", origin.addr);
    let published = publish_720p(&origin, "s1");
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\nup to 3\n"),
        upto(3),
        &[],
        &[],
    );

    let now = client().get(format!("{url}?_HLS_msn=3")).send().await;
    assert_eq!(
        now.expect("request").text().await.expect("body"),
        "#EXTM3U\nup to 3\n"
    );

    let held = held_get(
        format!("{url}?_HLS_msn=4"),
        Duration::from_millis(300),
        "segment 4 was listed",
    )
    .await;
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\nup to 4\n"),
        upto(4),
        &[],
        &[],
    );
    let answered = answer_to(held).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["access-control-allow-origin"], "*");
    assert_eq!(answered.text().await.expect("body"), "#EXTM3U\nup to 4\n");

    for (query, status) in [("_HLS_msn=9", 400), ("_HLS_msn=x", 400)] {
        let refused = client().get(format!("{url}?{query}")).send().await;
        assert_eq!(refused.expect("request").status(), status, "{query}");
    }
    // Three target durations without the segment: 503, so the player asks again.
    let late = client().get(format!("{url}?_HLS_msn=5")).send().await;
    assert_eq!(late.expect("request").status(), 503);

    // The stream stops while a reload waits: the ended playlist on disk answers it.
    let held = held_get(
        format!("{url}?_HLS_msn=5"),
        Duration::from_millis(200),
        "the stream stopped",
    )
    .await;
    drop(published);
    let answered = answer_to(held).await;
    assert_eq!(
        answered.text().await.expect("body"),
        "#EXTM3U\n#EXTINF:1.0,\ns1_00000.ts\n"
    );
}

/// Low-latency HLS: a part is served from memory while listed, and `_HLS_msn=N&_HLS_part=M`
/// is answered the moment part M of segment N is listed.
#[tokio::test]
async fn parts_are_served_from_memory_then_from_their_segment_and_a_reload_can_wait_for_one() {
    let origin = origin().await;
    let url = format!("http://{}/hls/alice/720p/index.m3u8", origin.addr);
    let part_url = format!("http://{}/hls/alice/720p/s1_00004-0.ts", origin.addr);
    let published = publish_720p(&origin, "s1");
    let in_progress = |parts| Edge { sequence: 4, parts };
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\nup to 3\n"),
        upto(3),
        &[],
        &[],
    );
    assert_eq!(status_of(&part_url).await, 404);

    let held = held_get(
        format!("{url}?_HLS_msn=4&_HLS_part=0"),
        Duration::from_millis(200),
        "part 4.0 was listed",
    )
    .await;
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\n4.0\n"),
        in_progress(1),
        &[],
        &[ts_part("s1_00004-0.ts", 3)],
    );
    let answered = answer_to(held).await;
    assert_eq!(answered.text().await.expect("body"), "#EXTM3U\n4.0\n");

    let response = client().fetch(&part_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "video/mp2t");
    assert_eq!(response.bytes().await.expect("body").len(), 188 * 3);

    let refused = client().get(format!("{url}?_HLS_part=0")).send().await;
    assert_eq!(
        refused.expect("request").status(),
        400,
        "a part without its segment"
    );

    // The segment is on disk: the part is now answered as its range of the segment file.
    let segment: Vec<u8> = (0..188 * 5).map(|i| (i % 251) as u8).collect();
    write(
        &origin.root.path().join("alice/s1/720p/s1_00004.ts"),
        &segment,
    );
    let first = ts_part("s1_00004-0.ts", 3);
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\nup to 4, with its parts\n"),
        upto(4),
        &["s1_00004.ts"],
        &[std::sync::Arc::new(
            first.within("s1_00004.ts", 188..188 * 4),
        )],
    );
    let response = client().fetch(&part_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        &segment[188..188 * 4]
    );

    // Once the playlist stops listing the part, it is no longer served.
    published.put(
        bytes::Bytes::from_static(b"#EXTM3U\nup to 5\n"),
        upto(5),
        &["s1_00004.ts"],
        &[],
    );
    assert_eq!(status_of(&part_url).await, 404);
}

#[tokio::test]
async fn a_request_for_the_hinted_part_is_held_until_the_part_exists() {
    let origin = origin().await;
    let part_url = |name: &str| format!("http://{}/hls/alice/720p/{name}", origin.addr);
    let published = publish_720p(&origin, "s1");
    let in_progress = |parts| Edge { sequence: 4, parts };
    let first = ts_part("s1_00004-0.ts", 1);
    published.put_hinting(
        bytes::Bytes::from_static(b"#EXTM3U\n4.0, hint 4.1\n"),
        in_progress(1),
        &[],
        std::slice::from_ref(&first),
        Some("s1_00004-1.ts".into()),
    );
    assert_eq!(
        status_of(&part_url("s1_00004-2.ts")).await,
        404,
        "only the hinted part is waited for"
    );

    let held = held_get(
        part_url("s1_00004-1.ts"),
        Duration::from_millis(200),
        "part 4.1 existed",
    )
    .await;
    published.put_hinting(
        bytes::Bytes::from_static(b"#EXTM3U\n4.1, hint 4.2\n"),
        in_progress(2),
        &[],
        &[first, ts_part("s1_00004-1.ts", 2)],
        Some("s1_00004-2.ts".into()),
    );
    let answered = answer_to(held).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["content-type"], "video/mp2t");
    assert_eq!(answered.bytes().await.expect("body").len(), 188 * 2);
}

#[tokio::test]
async fn cached_segments_are_sent_from_the_file_and_arrive_whole() {
    let origin = origin().await;
    let segment: Vec<u8> = (0..400 * 1024).map(|index| (index % 251) as u8).collect();
    write(
        &origin.root.path().join("alice/s1/720p/s1_00001.ts"),
        &segment,
    );
    let url = format!("http://{}/hls/alice/720p/s1_00001.ts", origin.addr);
    let before = ferrocast_ingest::adapters::hls::sendfile::bytes_sent_from_files();

    // The first request reads the file into the cache, the second is answered from it: both
    // send the file's pages.
    for _ in 0..2 {
        let response = client().fetch(&url).await;
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.expect("body");
        assert!(body[..] == segment[..], "the segment arrived changed");
    }

    let sent = ferrocast_ingest::adapters::hls::sendfile::bytes_sent_from_files() - before;
    assert!(
        sent >= 2 * segment.len() as u64,
        "only {sent} bytes went by sendfile"
    );
}

#[tokio::test]
async fn range_requests_are_honoured() {
    let origin = origin().await;
    let response = client()
        .get(format!("http://{}/hls/alice/720p/s1_00000.ts", origin.addr))
        .header("Range", "bytes=0-187")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 206);
    assert_eq!(response.bytes().await.expect("body").len(), 188);
}

#[tokio::test]
async fn traversal_and_odd_names_never_reach_the_disk() {
    let origin = origin().await;
    let long = format!("/hls/alice/720p/{}.ts", "a".repeat(10 * 1024));
    let cases: Vec<&[u8]> = vec![
        b"/hls/alice/../secret.ts",
        b"/hls/alice/%2e%2e/secret.ts",
        b"/hls/alice/%2E%2E/%2e%2e/secret.ts",
        b"/hls/alice/720p/..%2f..%2fsecret.ts",
        b"/hls/alice/720p/%2e%2e%2f%2e%2e%2fsecret.ts",
        b"/hls/alice/720p/s1_00000.ts%00.m3u8",
        b"/hls/alice/720p/%00",
        b"/hls/alice/720p/%C3%A9.ts",
        b"/hls/alice/720p/index.m3u8.tmp",
        b"/hls/alice/720p/.hidden.ts",
        b"/hls/alice/720p/x.html",
        b"/hls/Alice/master.m3u8",
        b"/hls/al%2Fice/master.m3u8",
        b"/hls/alice/720p%2F..%2F..%2F/secret.ts",
        b"/hls/..%2F..%2Fetc/master.m3u8",
        long.as_bytes(),
    ];
    for path in cases {
        let (status, text) = raw(origin.addr, "GET", path).await;
        assert!(
            status == 400 || status == 404,
            "{} -> {status}",
            String::from_utf8_lossy(path)
        );
        assert!(
            !text.contains("secret"),
            "{}",
            String::from_utf8_lossy(path)
        );
    }
}

#[tokio::test]
async fn offline_users_and_missing_files_are_404() {
    let origin = origin().await;
    let base = format!("http://{}", origin.addr);
    for path in [
        "/hls/bob/master.m3u8",
        "/hls/alice/1080p/index.m3u8",
        "/hls/alice/720p/s1_99999.ts",
    ] {
        let response = client().fetch(&format!("{base}{path}")).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
    }
}

#[tokio::test]
async fn ended_sessions_are_served_until_removed() {
    let origin = origin().await;
    let url = format!("http://{}/hls/alice/720p/index.m3u8", origin.addr);
    origin.registry.end("alice", "s1");
    assert_eq!(client().fetch(&url).await.status(), 200);
    origin.registry.remove("alice", "s1");
    assert_eq!(client().fetch(&url).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_viewer_does_not_delay_other_requests() {
    let origin = origin().await;
    // Bigger than loopback socket buffers, so the server really waits on this viewer.
    let big = origin.root.path().join("alice/s1/720p/s1_00001.ts");
    write(&big, &vec![0x47; 32 * 1024 * 1024]);

    let mut slow = TcpStream::connect(origin.addr).await.expect("connect");
    slow.write_all(b"GET /hls/alice/720p/s1_00001.ts HTTP/1.1\r\nHost: o\r\n\r\n")
        .await
        .expect("send");
    let slow_reader = tokio::spawn(async move {
        // 10 kB/s for three seconds.
        let mut buffer = [0u8; 1000];
        for _ in 0..30 {
            let _ = slow.read_exact(&mut buffer).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        slow
    });

    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = format!("http://{}", origin.addr);
    let client = client();
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let response = client
            .fetch(&format!("{base}/hls/alice/720p/index.m3u8"))
            .await;
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
        // Blocked behind the slow viewer a request would wait for its whole three seconds.
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "request took {:?} while a viewer was slow",
            started.elapsed()
        );
    }
    assert!(
        !slow_reader.is_finished(),
        "the slow viewer is still reading"
    );
    drop(slow_reader.await);
}
