//! Live thumbnails through the whole ingest: ffmpeg publishes over RTMP, the real transcoder
//! writes a two-rung ladder, and the origin serves a JPEG of the lowest rung at
//! `/hls/{username}/thumbnail.jpg`, with caching headers, refreshed every interval; rooms lists
//! its URL once it exists; it goes with the stream.

use std::time::Duration;

use crate::rtmp_support::*;

/// Short, so the test sees a refresh; production refreshes every 30 s.
const INTERVAL: Duration = Duration::from_secs(2);

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

async fn fetch(url: &str, if_none_match: Option<&str>) -> Option<Fetched> {
    let mut request = reqwest::Client::new().get(url);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.ok()?.to_vec();
    Some(Fetched {
        status,
        headers,
        body,
    })
}

fn header(fetched: &Fetched, name: &str) -> String {
    fetched
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `codec_name,width,height` of the picture, as ffprobe decodes it.
fn probe(jpeg: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("thumbnail.jpg");
    std::fs::write(&path, jpeg).expect("write");
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success(), "ffprobe refused the thumbnail");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The `RESOLUTION` width of the smallest variant of a master playlist.
fn lowest_width(master: &str) -> u32 {
    master
        .lines()
        .filter_map(|line| line.split("RESOLUTION=").nth(1))
        .filter_map(|rest| {
            let (w, rest) = rest.split_once('x')?;
            let h: u32 = rest.split(',').next()?.parse().ok()?;
            Some((h, w.parse::<u32>().ok()?))
        })
        .min()
        .map(|(_, w)| w)
        .expect("a RESOLUTION in the master playlist")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_thumbnail_of_the_lowest_rung_is_served_refreshed_and_listed() {
    let users = start_users().await;
    let user = users.streamer().await;
    let rooms = start_rooms(&users.users_grpc_url(), 15).await;
    let hls_root = tempfile::tempdir().expect("tempdir");
    let ingest = start_live_ingest_with(
        &users.users_grpc_url(),
        &rooms.callback_url(),
        hls_root.path(),
        |config| {
            // A 640x360 source: its copy plus a 160p rung, the one thumbnails must use.
            config.media.hls_ladder =
                ferrocast_ingest::adapters::media::parse_ladder("160:200").expect("ladder");
            config.thumbnails.interval = INTERVAL;
        },
    )
    .await;
    let base = ingest.hls_base(&user.username);
    let thumbnail_url = format!("{base}/thumbnail.jpg");

    // Before any publish: nothing to show.
    let before = fetch(&thumbnail_url, None).await.expect("answer");
    assert_eq!(before.status, 404);

    let publisher = ffmpeg_publish(&ingest.url(&user.key));
    let served = eventually(Duration::from_secs(20), || async {
        fetch(&thumbnail_url, None)
            .await
            .is_some_and(|f| f.status == 200)
    })
    .await;
    assert!(served, "a thumbnail within 20 s of the publish");
    let first = fetch(&thumbnail_url, None).await.expect("thumbnail");
    assert_eq!(header(&first, "content-type"), "image/jpeg");
    assert_eq!(header(&first, "cache-control"), "public, max-age=2");
    assert!(!header(&first, "last-modified").is_empty());
    let etag = header(&first, "etag");
    assert!(etag.starts_with('"'), "a strong ETag: {etag:?}");

    let (_, _, master) = http_get(&format!("{base}/master.m3u8"))
        .await
        .expect("master");
    let expected_width = lowest_width(&master).min(320);
    assert!(expected_width < 320, "the 160p rung is narrower: {master}");
    let probed = probe(&first.body);
    let mut fields = probed.split(',');
    assert_eq!(fields.next(), Some("mjpeg"), "{probed}");
    assert_eq!(
        fields.next().and_then(|w| w.parse::<u32>().ok()),
        Some(expected_width),
        "made from the lowest rung: {probed}"
    );

    // A cache that holds it revalidates for nothing while it is current.
    let revalidated = fetch(&thumbnail_url, Some(&etag)).await.expect("answer");
    if header(&revalidated, "etag") == etag {
        assert_eq!(revalidated.status, 304);
        assert!(revalidated.body.is_empty());
    }

    // The moving test picture makes every refresh a new image.
    let refreshed = eventually(Duration::from_secs(15), || async {
        fetch(&thumbnail_url, None)
            .await
            .is_some_and(|f| f.status == 200 && header(&f, "etag") != etag && f.body != first.body)
    })
    .await;
    assert!(refreshed, "a new thumbnail after the interval");

    // Rooms lists it once the ingest's updates say it exists.
    let room_url = rooms.url(&format!("/api/rooms/{}", user.username));
    let listed = eventually(Duration::from_secs(10), || async {
        http_get(&room_url).await.is_some_and(|(_, _, body)| {
            body.contains(&format!(
                "\"thumbnail_url\":\"/hls/{}/thumbnail.jpg\"",
                user.username
            ))
        })
    })
    .await;
    assert!(listed, "the room names the thumbnail");

    // Nobody else's name reaches a file, and unknown users have none.
    let unknown = fetch(
        &format!("{}/thumbnail.jpg", ingest.hls_base("nobody_streams_here")),
        None,
    )
    .await
    .expect("answer");
    assert_eq!(unknown.status, 404);
    let bad = fetch(
        &format!("http://{}/hls/Not-A-Name/thumbnail.jpg", ingest.http_addr),
        None,
    )
    .await
    .expect("answer");
    assert_eq!(bad.status, 400);

    // The thumbnail goes with the stream.
    drop(publisher);
    let gone = eventually(Duration::from_secs(15), || async {
        fetch(&thumbnail_url, None)
            .await
            .is_some_and(|f| f.status == 404)
    })
    .await;
    assert!(gone, "no thumbnail once the stream ended");

    ingest.stop().await;
}

/// A thumbnail ffmpeg that works, hangs or crashes as the test says (a file beside it), so
/// the live pipeline's own ffmpeg stays the real one.
fn unreliable_ffmpeg(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("thumbnail-ffmpeg");
    let mode = dir.join("mode");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$(cat {mode} 2>/dev/null)\" in\n  hang) exec sleep 600 ;;\n  crash) echo 'simulated crash' >&2; exit 134 ;;\nesac\nexec ffmpeg \"$@\"\n",
            mode = mode.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn set_mode(dir: &std::path::Path, mode: &str) {
    std::fs::write(dir.join("mode"), mode).expect("mode");
}

/// The newest segment the rendition's playlist lists.
async fn newest_segment(base: &str, rendition: &str) -> Option<String> {
    let (_, _, playlist) = http_get(&format!("{base}/{rendition}/index.m3u8")).await?;
    playlist
        .lines()
        .rev()
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_or_crashing_thumbnail_ffmpeg_keeps_the_last_thumbnail_and_the_stream_live() {
    let users = start_users().await;
    let user = users.streamer().await;
    let rooms = start_rooms(&users.users_grpc_url(), 15).await;
    let hls_root = tempfile::tempdir().expect("tempdir");
    let tools = tempfile::tempdir().expect("tempdir");
    let wrapper = unreliable_ffmpeg(tools.path());
    let ingest = start_live_ingest_with(
        &users.users_grpc_url(),
        &rooms.callback_url(),
        hls_root.path(),
        |config| {
            config.thumbnails.interval = INTERVAL;
            config.thumbnails.ffmpeg_path = Some(wrapper.clone());
        },
    )
    .await;
    let base = ingest.hls_base(&user.username);
    let thumbnail_url = format!("{base}/thumbnail.jpg");
    let publisher = ffmpeg_publish(&ingest.url(&user.key));
    let served = eventually(Duration::from_secs(20), || async {
        fetch(&thumbnail_url, None)
            .await
            .is_some_and(|f| f.status == 200)
    })
    .await;
    assert!(served, "a first thumbnail");

    for mode in ["hang", "crash"] {
        set_mode(tools.path(), mode);
        // Let an attempt that started before the switch finish.
        tokio::time::sleep(INTERVAL * 2).await;
        let kept = fetch(&thumbnail_url, None).await.expect("thumbnail");
        assert_eq!(kept.status, 200, "{mode}: the last thumbnail stays served");
        let before = newest_segment(&base, "360p").await;
        // Past the deadline of a hung attempt (the interval) and another interval.
        tokio::time::sleep(INTERVAL * 3).await;
        let still = fetch(&thumbnail_url, None).await.expect("thumbnail");
        assert_eq!(still.status, 200, "{mode}: still served");
        assert_eq!(
            header(&still, "etag"),
            header(&kept, "etag"),
            "{mode}: no new thumbnail while ffmpeg fails"
        );
        let after = newest_segment(&base, "360p").await;
        assert!(
            before.is_some() && after.is_some() && before != after,
            "{mode}: the stream goes on ({before:?} → {after:?})"
        );
    }
    // The hung ffmpeg (`sleep`) was killed at its deadline, not left behind.
    assert!(
        process::pgrep("sleep 600").is_empty(),
        "no hung thumbnail process left"
    );

    set_mode(tools.path(), "ok");
    let stale = header(
        &fetch(&thumbnail_url, None).await.expect("thumbnail"),
        "etag",
    );
    let recovered = eventually(Duration::from_secs(15), || async {
        fetch(&thumbnail_url, None)
            .await
            .is_some_and(|f| f.status == 200 && header(&f, "etag") != stale)
    })
    .await;
    assert!(recovered, "thumbnails resume once ffmpeg works again");

    drop(publisher);
    ingest.stop().await;
}
