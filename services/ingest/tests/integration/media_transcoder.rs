//! The ffmpeg pipeline end to end with real ffmpeg: ladder and master playlist (passthrough
//! remuxed by the ingest, lower rungs by ffmpeg), clean finish, crash restart and failure (playlists closed with `#EXT-X-ENDLIST` when it gives up), the
//! stall watchdog, a full HLS disk, and a publisher that is never stalled by a stuck ffmpeg.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::media_common::*;
use bytes::Bytes;
use ferrocast_ingest::{
    adapters::media::{CopyMuxer, MediaConfig},
    ports::{MediaError, MediaPacket, Transcoder},
};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// An executable `/bin/sh` script standing in for ffmpeg.
fn fake_ffmpeg(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;

    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// How many times a fake ffmpeg that appends a line to `counter` at start was started.
fn starts(counter: &Path) -> usize {
    read(counter).lines().count()
}

/// The supervision tests need ffmpeg on every rung, including the passthrough that the
/// ingest would otherwise remux itself.
fn ffmpeg_config(root: &Path) -> MediaConfig {
    MediaConfig {
        hls_copy_muxer: CopyMuxer::Ffmpeg,
        ..config(root)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_720p_gets_copy_480_360_with_codecs_and_ends_cleanly() {
    let publishing = start_publishing("ladder", "1280x720", 7, 1, config).await;
    let (dir, registry, publisher) = (&publishing.dir, &publishing.registry, &publishing.publisher);
    assert!(registry.is_live(&publisher.username));

    // Within 10 s: a master with three complete variants, each with two segments or more.
    let master = wait_for(Duration::from_secs(10), || {
        let master = read(&dir.join("master.m3u8"));
        let all_have_two = variants(&master).len() == 3
            && variants(&master)
                .iter()
                .all(|(uri, _, _)| segments(&read(&dir.join(uri))).len() >= 2);
        all_have_two.then_some(master)
    })
    .await
    .expect("master.m3u8 with 3 variants of 2+ segments within 10 s");
    let listed = variants(&master);
    let resolutions: Vec<&str> = listed.iter().map(|(_, r, _)| r.as_str()).collect();
    assert_eq!(resolutions, ["1280x720", "854x480", "640x360"], "{master}");
    // The copy keeps the source's Constrained Baseline 3.1; ultrafast x264 writes baseline too.
    assert_eq!(listed[0].2, "avc1.42c01f,mp4a.40.2", "{master}");
    for (uri, resolution, codecs) in &listed {
        assert!(
            codecs.starts_with("avc1.") && codecs.ends_with(",mp4a.40.2"),
            "{codecs}"
        );
        let rendition = uri.trim_end_matches("/index.m3u8");
        let playlist = read(&dir.join(uri));
        let first = &segments(&playlist)[0];
        assert!(first.starts_with(&publisher.session_id[..8]), "{first}");
        let segment = dir.join(rendition).join(first);
        assert_eq!(
            &probe_resolution(&segment),
            resolution,
            "{}",
            segment.display()
        );
        assert!(decodes(&segment), "{} decodes", segment.display());
    }

    let (sink, accepted) = publishing.feeding.await.expect("feeder");
    assert!(accepted > 300, "every packet was accepted: {accepted}");
    let renditions = sink.renditions();
    assert_eq!(renditions.len(), 3);
    assert_eq!(
        (renditions[1].name.as_str(), renditions[1].width),
        ("480p", 854)
    );

    sink.finish().await;
    for (uri, _, _) in &listed {
        let playlist = read(&dir.join(uri));
        assert!(
            playlist.trim_end().ends_with("#EXT-X-ENDLIST"),
            "{uri}: {playlist}"
        );
    }
    assert!(
        ffmpeg_pids(&publisher.session_id).is_empty(),
        "ffmpeg exited"
    );
    assert!(!registry.is_live(&publisher.username));
    assert!(
        registry.session_dir(&publisher.username).is_some(),
        "ended stream still served"
    );
    let removed = wait_for(Duration::from_secs(5), || (!dir.exists()).then_some(())).await;
    assert!(
        removed.is_some(),
        "session folder removed after the grace period"
    );
    assert_eq!(registry.session_dir(&publisher.username), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_1080p_gets_copy_720_480_360() {
    let work = tempfile::tempdir().expect("tempdir");
    // Low frame rate keeps three x264 encodes of a 1080p picture cheap.
    let packets = read_packets(&make_flv(work.path(), "1920x1080", 10, 4));
    let root = work.path().join("hls");
    let (transcoder, _registry, _shutdown) = transcoder(config(&root));
    let publisher = publisher("full");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let feeding = tokio::spawn(feed_realtime(sink, packets, 1));
    let dir = root.join(&publisher.username).join(&publisher.session_id);

    let master = wait_for(Duration::from_secs(15), || {
        let master = read(&dir.join("master.m3u8"));
        (variants(&master).len() == 4).then_some(master)
    })
    .await
    .expect("master.m3u8 with 4 variants");
    let resolutions: Vec<String> = variants(&master).into_iter().map(|(_, r, _)| r).collect();
    assert_eq!(resolutions, ["1920x1080", "1280x720", "854x480", "640x360"]);
    let (sink, _) = feeding.await.expect("feeder");
    sink.finish().await;
    assert!(ffmpeg_pids(&publisher.session_id).is_empty());
}

/// Regression: with ffmpeg behind real time the packet queue is never empty, and the master
/// playlist (and the stall watchdog) must still get their turn instead of waiting for the
/// publisher to stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_playlist_appears_while_ffmpeg_lags_behind_the_publisher() {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), "640x360", 30, 4));
    let root = work.path().join("hls");
    // One transcoded rung with a slow preset: ffmpeg cannot keep up with a flat-out feeder.
    let mut lagging = config(&root);
    lagging.hls_ladder = vec![ferrocast_ingest::adapters::media::RungSpec {
        height: 240,
        video_kbps: 400,
    }];
    lagging.hls_x264_preset = "slow".into();
    let (transcoder, _registry, _shutdown) = transcoder(lagging);
    let publisher = publisher("lagging");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let dir = root.join(&publisher.username).join(&publisher.session_id);
    let feeding = tokio::spawn(feed_flat_out(sink, packets));

    let master = wait_for(Duration::from_secs(10), || {
        let master = read(&dir.join("master.m3u8"));
        (!variants(&master).is_empty()).then_some(master)
    })
    .await;
    assert!(!feeding.is_finished(), "the feeder is still pushing");
    feeding.abort();
    assert!(
        master.is_some(),
        "master.m3u8 written while the queue stayed full"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ffmpeg_is_restarted_once_then_the_pipeline_fails() {
    // 360p: only the copied rung, so this test costs almost no CPU. Feeds for up to 40 s,
    // stopping as soon as the pipeline refuses packets.
    let publishing = start_publishing("crash", "640x360", 4, 10, ffmpeg_config).await;
    let (root, publisher) = (&publishing.root, &publishing.publisher);
    let playlist = variant_playlist(root, publisher, "360p");

    let (first, before) = kill_ffmpeg_once_it_writes(&publisher.session_id, &playlist).await;

    // Restarted once: a new ffmpeg appends behind a discontinuity and output continues.
    let second = wait_for(Duration::from_secs(10), || {
        let pids = ffmpeg_pids(&publisher.session_id);
        let text = read(&playlist);
        let continued = text.contains("#EXT-X-DISCONTINUITY")
            && segments(&text).last() != before.last()
            && segments(&text).len() >= 2;
        (continued && pids.len() == 1 && pids[0] != first).then(|| pids[0])
    })
    .await
    .expect("ffmpeg restarted and output continued");
    assert!(
        !publishing.feeding.is_finished(),
        "the publisher kept going through the restart"
    );

    kill_9(second);
    let (mut sink, _) = tokio::time::timeout(Duration::from_secs(10), publishing.feeding)
        .await
        .expect("the pipeline refused packets after the second crash")
        .expect("feeder");
    let error = failure(&*sink).await;
    assert!(
        matches!(&error, MediaError::Ended(reason) if reason.contains("ffmpeg")),
        "{error}"
    );
    // The SIGKILLed ffmpeg could not end its playlist: the pipeline did, before reporting the
    // failure, keeping the segments listed so the ended stream stays playable until cleanup.
    let ended = read(&playlist);
    assert!(ended.trim_end().ends_with("#EXT-X-ENDLIST"), "{ended}");
    assert_eq!(ended.matches("#EXT-X-ENDLIST").count(), 1, "{ended}");
    assert!(segments(&ended).len() >= 2, "{ended}");
    let refused = sink.push(MediaPacket::Metadata {
        data: Bytes::from_static(b"x"),
    });
    assert!(refused.is_err());
    sink.finish().await;
    assert!(
        ffmpeg_pids(&publisher.session_id).is_empty(),
        "no orphan ffmpeg"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_never_blocks_when_ffmpeg_stops_reading() {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), "640x360", 30, 3));
    // An "ffmpeg" that never reads its stdin.
    let stuck = fake_ffmpeg(work.path(), "stuck-ffmpeg", "exec sleep 60\n");
    let mut config = ffmpeg_config(&work.path().join("hls"));
    config.ffmpeg_path = stuck;
    config.media_queue_packets = 32;
    config.stop_timeout = Duration::from_millis(500);
    let (transcoder, _registry, _shutdown) = transcoder(config);
    let mut sink = transcoder
        .start(&publisher("stuck"))
        .await
        .expect("pipeline starts");

    // Far more than the queue and the pipe hold, as fast as possible.
    let started = std::time::Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        for packet in &packets {
            let push_started = std::time::Instant::now();
            if sink.push(packet.clone()).is_err() {
                break;
            }
            slowest = slowest.max(push_started.elapsed());
        }
    }
    // A push that waited on the stuck pipe would block for the whole write deadline (500 ms)
    // or forever; the bounds leave room for a busy CI machine's scheduling noise.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(slowest < Duration::from_millis(250), "{slowest:?}");

    // As the publisher goes on, the stuck process is killed when a write times out, restarted
    // once, killed again: the pipeline fails and the sink refuses packets.
    let (sink, _) = tokio::time::timeout(Duration::from_secs(15), feed_realtime(sink, packets, 5))
        .await
        .expect("the pipeline gave up on the stuck ffmpeg");
    let error = failure(&*sink).await;
    assert!(error.to_string().contains("stopped reading"), "{error}");
    tokio::time::timeout(Duration::from_secs(5), sink.finish())
        .await
        .expect("finish() returns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_write_errors_fail_the_pipeline_with_ffmpegs_reason() {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), "640x360", 30, 2));
    let root = work.path().join("hls");
    let (transcoder, registry, _shutdown) = transcoder(ffmpeg_config(&root));
    let publisher = publisher("diskerr");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    // A file where ffmpeg must create the rendition folder: every output write fails, as on a
    // full or broken disk.
    let dir = root.join(&publisher.username).join(&publisher.session_id);
    std::fs::write(dir.join("360p"), b"in the way").expect("blocker");

    let (sink, _) = tokio::time::timeout(Duration::from_secs(15), feed_realtime(sink, packets, 5))
        .await
        .expect("the pipeline refused packets");
    let error = failure(&*sink).await;
    assert!(error.to_string().contains("ffmpeg exited"), "{error}");
    sink.finish().await;
    assert!(!registry.is_live(&publisher.username));
    assert!(
        ffmpeg_pids(&publisher.session_id).is_empty(),
        "no orphan ffmpeg"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_that_writes_no_segments_is_restarted_then_the_pipeline_fails() {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), "640x360", 30, 2));
    // An "ffmpeg" that reads everything and writes nothing (a hung disk, a stuck encoder).
    let silent = fake_ffmpeg(work.path(), "silent-ffmpeg", "exec cat > /dev/null\n");
    let mut config = ffmpeg_config(&work.path().join("hls"));
    config.ffmpeg_path = silent;
    config.stall_timeout = Duration::from_secs(2);
    let (transcoder, _registry, _shutdown) = transcoder(config);
    let sink = transcoder
        .start(&publisher("silent"))
        .await
        .expect("pipeline starts");

    let (sink, _) = tokio::time::timeout(Duration::from_secs(15), feed_realtime(sink, packets, 10))
        .await
        .expect("the pipeline gave up on the silent ffmpeg");
    let error = failure(&*sink).await;
    assert!(error.to_string().contains("wrote no segment"), "{error}");
    sink.finish().await;
}

/// R-3 (a): on a full disk ffmpeg keeps rewriting its playlist without new segments. The
/// watchdog must judge by segments, not by the file changing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_that_keeps_rewriting_its_playlist_without_new_segments_counts_as_stalled() {
    let work = tempfile::tempdir().expect("tempdir");
    // 480p: a copied rung and a 360p one, so two playlists must be closed at the end.
    let packets = read_packets(&make_flv(work.path(), "854x480", 30, 2));
    let counter = work.path().join("starts");
    // Reads its input and rewrites every variant playlist five times a second, always listing
    // the same single segment.
    let script = format!(
        r#"echo started >> '{counter}'
names=""; previous=""; last=""
for arg in "$@"; do
  [ "$previous" = "-var_stream_map" ] && names="$arg"
  previous="$arg"; last="$arg"
done
exec 3<&0
cat <&3 >/dev/null 3<&- &
while :; do
  for map in $names; do
    playlist=$(printf '%s' "$last" | sed "s|%v|${{map##*name:}}|")
    mkdir -p "$(dirname "$playlist")"
    printf '#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:1.000000,
old_00000.ts
' > "$playlist"
  done
  sleep 0.2
done
"#,
        counter = counter.display()
    );
    let mut config = ffmpeg_config(&work.path().join("hls"));
    config.ffmpeg_path = fake_ffmpeg(work.path(), "rewriting-ffmpeg", &script);
    config.stall_timeout = Duration::from_secs(2);
    let (transcoder, registry, _shutdown) = transcoder(config);
    let publisher = publisher("rewriting");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let dir = work
        .path()
        .join("hls")
        .join(&publisher.username)
        .join(&publisher.session_id);

    let (sink, _) = tokio::time::timeout(Duration::from_secs(20), feed_realtime(sink, packets, 15))
        .await
        .expect("the pipeline gave up on the ffmpeg that produced no segment");
    let error = failure(&*sink).await;
    let reason = error.to_string();
    assert!(reason.contains("wrote no segment"), "{reason}");
    assert!(reason.contains("giving up after 1 restart"), "{reason}");
    assert_eq!(
        starts(&counter),
        2,
        "started, restarted once, then given up"
    );

    let renditions: Vec<String> = sink.renditions().into_iter().map(|r| r.name).collect();
    assert_eq!(renditions, ["480p", "360p"]);
    for name in &renditions {
        let ended = read(&dir.join(name).join("index.m3u8"));
        assert!(
            ended.ends_with("old_00000.ts\n#EXT-X-ENDLIST\n"),
            "{name}: {ended}"
        );
    }
    sink.finish().await;
    assert!(!registry.is_live(&publisher.username));
    assert!(ffmpeg_pids(&publisher.session_id).is_empty());
}

/// R-3 (b): ffmpeg saying "No space left on device" ends the pipeline at once (long before the
/// stall watchdog) and without a pointless restart onto the same disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_reporting_no_space_fails_the_pipeline_at_once_without_restart() {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), "640x360", 30, 2));
    let counter = work.path().join("starts");
    let script = format!(
        "echo started >> '{}'\n\
         echo \"[hls @ 0x1] Failed to open file 'x_00003.ts.tmp': No space left on device\" >&2\n\
         exec cat > /dev/null\n",
        counter.display()
    );
    let mut config = ffmpeg_config(&work.path().join("hls"));
    config.ffmpeg_path = fake_ffmpeg(work.path(), "full-ffmpeg", &script);
    config.stall_timeout = Duration::from_secs(20);
    let (transcoder, registry, _shutdown) = transcoder(config);
    let publisher = publisher("nospace");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");

    let started = std::time::Instant::now();
    let (sink, _) = tokio::time::timeout(Duration::from_secs(10), feed_realtime(sink, packets, 10))
        .await
        .expect("the pipeline refused packets before the stall timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let reason = no_space_reason(&*sink).await;
    assert!(reason.contains("No space left on device"), "{reason}");
    assert!(reason.contains("ffmpeg not restarted"), "{reason}");
    assert_eq!(starts(&counter), 1, "no restart");
    sink.finish().await;
    assert!(!registry.is_live(&publisher.username));
    assert!(ffmpeg_pids(&publisher.session_id).is_empty(), "no orphan");
}

/// R-3 end to end with real ffmpeg: the HLS root on a small tmpfs kept full by another writer.
/// ffmpeg 5 neither exits nor prints anything; the watchdog sees no new segment and the space
/// probe names the cause, so the pipeline fails without restarting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_hls_disk_fails_the_pipeline_without_restart_naming_no_space() {
    let Some(ended) = run_until_the_disk_fills(
        "full_hls_disk_fails_the_pipeline_without_restart_naming_no_space",
        |root| MediaConfig {
            stall_timeout: Duration::from_secs(3),
            ..ffmpeg_config(root)
        },
        Duration::from_secs(20),
    )
    .await
    else {
        return;
    };
    let reason = &ended.reason;
    assert!(reason.contains("ffmpeg not restarted"), "{reason}");
    assert!(reason.contains("wrote no segment"), "{reason}");
    assert!(ffmpeg_pids(&ended.session_id).is_empty(), "no orphan");
}

#[tokio::test]
async fn non_h264_video_fails_the_pipeline() {
    let work = tempfile::tempdir().expect("tempdir");
    let (transcoder, _registry, _shutdown) = transcoder(config(work.path()));
    let mut sink = transcoder
        .start(&publisher("hevc"))
        .await
        .expect("pipeline starts");
    // Enhanced-RTMP HEVC sequence start.
    let hevc = MediaPacket::Video {
        timestamp_ms: 0,
        data: Bytes::from_static(&[0x90, b'h', b'v', b'c', b'1', 0, 0]),
    };
    sink.push(hevc).expect("accepted without waiting");
    let error = tokio::time::timeout(Duration::from_secs(5), sink.failed())
        .await
        .expect("failed() resolved");
    assert!(error.to_string().contains("H.264"), "{error}");
    sink.finish().await;
}

#[tokio::test]
async fn unusable_publisher_names_are_refused_before_touching_disk() {
    let work = tempfile::tempdir().expect("tempdir");
    let (transcoder, _registry, _shutdown) = transcoder(config(work.path()));
    for (username, session_id) in [("../etc", "abc"), ("alice", "../../x"), ("Alice", "s1")] {
        let publisher = ferrocast_ingest::ports::Publisher {
            user_id: "u".into(),
            username: username.into(),
            session_id: session_id.into(),
        };
        assert!(matches!(
            transcoder.start(&publisher).await,
            Err(MediaError::Start(_))
        ));
    }
    assert_eq!(std::fs::read_dir(work.path()).expect("dir").count(), 0);
}
