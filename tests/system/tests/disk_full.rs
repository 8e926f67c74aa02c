//! L6: the HLS disk of one ingest fills up mid-stream (a 2 MiB tmpfs, topped up with a filler
//! file). The stream must end cleanly — room gone, publisher disconnected, a log line that says
//! why — while a second ingest on a healthy disk, the APIs and the full ingest itself keep
//! working, and the full ingest recovers once space is back.
//!
//! Needs `mount -t tmpfs` (root in CI's container); skipped with a message otherwise. Its own
//! test binary because it captures the process's logs.
#![allow(clippy::unwrap_used)]

use std::{io::Write, path::Path, time::Duration};

use ferrocast_testkit::{eventually, LogCapture, Tmpfs};
use ferrocast_testkit::{heavy, hls, platform, publisher, Options, Platform};

/// Writes zeros into `path` until the file system is full.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 16 * 1024];
    let mut written = 0;
    while file.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    // The last partial block.
    for _ in 0..block.len() {
        if file.write_all(&[0]).is_err() {
            break;
        }
        written += 1;
    }
    let _ = file.flush();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l6_hls_disk_full_ends_that_stream_cleanly_and_nothing_else() {
    let logs = LogCapture::install();
    let _heavy = heavy().await;
    let scratch = tempfile::tempdir().unwrap();
    let full_root = scratch.path().join("small");
    let Some(_tmpfs) = Tmpfs::mount(&full_root, "2m") else {
        eprintln!(
            "SKIPPED l6: `mount -t tmpfs` is not permitted here (needs root or CAP_SYS_ADMIN)"
        );
        return;
    };
    let options = Options::default();
    let platform = Platform::start(options.clone()).await.unwrap();
    // A second ingest whose HLS root is the small tmpfs.
    let (small, small_rtmp, small_http, _) = platform::start_ingest(
        &options,
        platform.users_grpc,
        platform.rooms_http(),
        &full_root.join("hls"),
        None,
    )
    .await
    .unwrap();

    let healthy = platform.streamer().await;
    let victim = platform.streamer().await;
    let _healthy_ffmpeg = publisher::publish(&platform.rtmp_url(&healthy.key));
    let mut victim_ffmpeg = publisher::publish(&format!("rtmp://{small_rtmp}/live/{}", victim.key));
    let healthy_origin = platform.hls_url("");
    let small_origin = format!("http://{small_http}");
    let healthy_variant = hls::wait_for_segments(
        &platform.http,
        &healthy_origin,
        &healthy.username,
        2,
        Duration::from_secs(30),
    )
    .await
    .expect("healthy segments");
    hls::wait_for_segments(
        &platform.http,
        &small_origin,
        &victim.username,
        2,
        Duration::from_secs(30),
    )
    .await
    .expect("segments on the small disk before it fills");

    // Keep the disk full: whatever ffmpeg's sliding window frees is taken again at once, the
    // way another writer on a shared volume would.
    let filler = full_root.join("filler");
    let written = fill(&filler);
    eprintln!("L6: filled the tmpfs with {written} more bytes");
    let hog = {
        let filler = filler.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut extra = 0u32;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&filler) else {
                    break;
                };
                while file.write_all(&[0u8; 4096]).is_ok() {}
                // Byte by byte for the last partial page.
                while file.write_all(&[0u8]).is_ok() {}
                extra += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            extra
        });
        (stop, task)
    };
    let healthy_before = hls::playlist(
        &platform.http,
        &healthy_origin,
        &healthy.username,
        &healthy_variant,
    )
    .await
    .unwrap()
    .next_sequence();

    // The victim's stream ends: room gone, publisher disconnected.
    let room_gone = platform
        .wait_live(&victim.username, false, Duration::from_secs(30))
        .await;
    let publisher_cut = tokio::time::timeout(Duration::from_secs(10), victim_ffmpeg.wait())
        .await
        .is_ok();
    let lines: Vec<String> = logs
        .contents()
        .lines()
        .filter(|l| l.contains(&victim.username) && (l.contains("ERROR") || l.contains("WARN")))
        .map(str::to_owned)
        .collect();
    eprintln!("L6: log lines about the victim:\n{}", lines.join("\n"));
    let victim_playlist = hls::get_text(
        &platform.http,
        &format!("{small_origin}/hls/{}/master.m3u8", victim.username),
    )
    .await;
    let clear = lines.iter().any(|l| {
        let l = l.to_lowercase();
        l.contains("no space") || l.contains("disk full") || l.contains("enospc")
    });

    // Nothing else is affected.
    let healthy_after = hls::playlist(
        &platform.http,
        &healthy_origin,
        &healthy.username,
        &healthy_variant,
    )
    .await
    .unwrap();
    let listed = platform.live_rooms().await;
    let small_health = platform
        .http
        .get(format!("{small_origin}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);

    assert!(
        room_gone,
        "the room of the stream whose disk is full stayed; its master playlist: {victim_playlist:?}"
    );
    assert!(
        publisher_cut,
        "the publisher of the full disk was not disconnected"
    );
    assert!(
        healthy_after.next_sequence() > healthy_before && !healthy_after.ended,
        "the healthy stream stalled"
    );
    assert_eq!(listed, Some(vec![healthy.username.clone()]));
    assert_eq!(small_health, 200, "the full ingest itself must stay up");
    assert!(clear, "no log line names the cause (no space left)");

    // Space back: the same ingest takes a new publish.
    hog.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = hog.1.await;
    std::fs::remove_file(&filler).unwrap();
    let _again = publisher::publish(&format!("rtmp://{small_rtmp}/live/{}", victim.key));
    assert!(
        eventually(Duration::from_secs(30), || async {
            hls::wait_for_segments(
                &platform.http,
                &small_origin,
                &victim.username,
                2,
                Duration::from_secs(1),
            )
            .await
            .is_some()
        })
        .await,
        "the ingest did not recover after space came back"
    );
    drop(small);
}
