//! The transcoded rungs ffmpeg hands back as FLV and the ingest cuts itself, checked with real
//! ffmpeg/ffprobe: they list low-latency parts like the passthrough, start on the passthrough's
//! clock, and carry on in the same playlists when ffmpeg is restarted.

use std::{path::Path, process::Command, time::Duration};

use crate::media_common::*;
use ferrocast_ingest::{
    adapters::hls::HlsRegistry,
    adapters::media::{parse_ladder, MediaConfig},
};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A 480p source: the passthrough plus one transcoded 360p rung.
fn two_rungs(root: &Path) -> MediaConfig {
    MediaConfig {
        hls_ladder: parse_ladder("360:800").expect("ladder"),
        ..config(root)
    }
}

/// When a segment's first packet is presented, in seconds, as ffprobe reads it.
fn start_time(segment: &Path) -> f64 {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=start_time"])
        .args(["-of", "csv=p=0"])
        .arg(segment)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: {text}", segment.display()))
}

/// The origin's live playlist of `rendition` once it lists two segments and a part after them.
async fn live_with_parts(registry: &HlsRegistry, user: &str, rendition: &str) -> String {
    let mut last_seen = String::new();
    wait_for(Duration::from_secs(10), || {
        let served = registry.live_playlist(user, rendition)?;
        let text = String::from_utf8_lossy(&served.bytes).into_owned();
        last_seen.clone_from(&text);
        let after_last = text.rsplit(".ts\n").next().unwrap_or_default().to_owned();
        (segments(&text).len() >= 2 && after_last.contains("#EXT-X-PART:")).then_some(text)
    })
    .await
    .unwrap_or_else(|| panic!("{rendition}: no part of a third segment within 10 s: {last_seen}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcoded_rungs_list_parts_on_the_passthroughs_clock() {
    let publishing = start_publishing("relayed", "854x480", 5, 1, two_rungs).await;
    let (registry, dir) = (&publishing.registry, &publishing.dir);
    let user = publishing.publisher.username.clone();

    let copy = live_with_parts(registry, &user, "480p").await;
    let transcoded = live_with_parts(registry, &user, "360p").await;
    for playlist in [&copy, &transcoded] {
        assert!(
            playlist.contains("#EXT-X-PART-INF:PART-TARGET=0.334\n"),
            "{playlist}"
        );
        assert!(
            playlist.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI="),
            "{playlist}"
        );
    }
    let listed = parts(&transcoded);
    assert!(
        listed.iter().all(|(duration, _, _)| *duration <= 0.334),
        "{transcoded}"
    );
    // A complete segment of the transcoded rung is its parts back to back, its first part opens
    // on the keyframe the source gave it, and the parts served while it was in progress are
    // what it was written with.
    let segment = segments(&transcoded)[0].clone();
    let rendition_dir = dir.join("360p");
    assert_segment_is_its_parts(
        registry,
        &user,
        "360p",
        &rendition_dir,
        &transcoded,
        &segment,
    )
    .await;
    assert_open_parts_begin_their_segment(registry, &user, "360p", &dir.join("360p"), &transcoded)
        .await;

    let (sink, _) = publishing.feeding.await.expect("feeder");
    sink.finish().await;
    let copy = read(&dir.join("480p").join("index.m3u8"));
    let transcoded = read(&dir.join("360p").join("index.m3u8"));
    for playlist in [&copy, &transcoded] {
        assert_eq!(playlist.matches("#EXT-X-ENDLIST").count(), 1, "{playlist}");
    }
    let (copy_durations, transcoded_durations) = (durations(&copy), durations(&transcoded));
    assert_eq!(copy_durations.len(), 5, "{copy}");
    assert_eq!(
        copy_durations.len(),
        transcoded_durations.len(),
        "{transcoded}"
    );
    for (a, b) in copy_durations.iter().zip(&transcoded_durations).take(4) {
        assert!((a - b).abs() < 0.05, "{copy} vs {transcoded}");
    }
    // Same instants on the same clock: a player switching rungs lands where it left.
    let first = |playlist: &str, rendition: &str| {
        start_time(&dir.join(rendition).join(&segments(playlist)[0]))
    };
    let (copy_start, transcoded_start) = (first(&copy, "480p"), first(&transcoded, "360p"));
    assert!(
        (copy_start - transcoded_start).abs() < 0.034,
        "first segments start at {copy_start} s and {transcoded_start} s"
    );
    assert!(decodes(&dir.join("360p").join("index.m3u8")));
    assert!(
        ffmpeg_pids(&publishing.publisher.session_id).is_empty(),
        "ffmpeg exited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_ffmpeg_carries_the_transcoded_rung_on_in_the_same_playlist() {
    let publishing = start_publishing("rerelayed", "854x480", 4, 3, two_rungs).await;
    let publisher = &publishing.publisher;
    let playlist = variant_playlist(&publishing.root, publisher, "360p");

    let (first, before) = kill_ffmpeg_once_it_writes(&publisher.session_id, &playlist).await;

    let restarted = wait_for(Duration::from_secs(10), || {
        let pids = ffmpeg_pids(&publisher.session_id);
        let listed = segments(&read(&playlist));
        let continued = listed.len() >= before.len() + 2;
        (continued && pids.len() == 1 && pids[0] != first).then_some(listed)
    })
    .await
    .expect("a new ffmpeg, and the rung's playlist went on");
    assert_eq!(
        restarted[..before.len()],
        before[..],
        "the same playlist, continued"
    );
    assert!(
        !publishing.feeding.is_finished(),
        "the publisher kept going through the restart"
    );

    let (sink, _) = publishing.feeding.await.expect("feeder");
    sink.finish().await;
    let ended = read(&playlist);
    assert_eq!(ended.matches("#EXT-X-ENDLIST").count(), 1, "{ended}");
    assert!(decodes(&playlist), "{ended}");
    assert!(
        ffmpeg_pids(&publisher.session_id).is_empty(),
        "no orphan ffmpeg"
    );
}

/// Whichever rung meets the full disk first, the passthrough or a transcoded one, the stream
/// ends at once naming the cause, and ffmpeg is not left behind writing into a closed pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_ends_a_relayed_ladder_naming_no_space() {
    let Some(ended) = run_until_the_disk_fills(
        "a_full_disk_ends_a_relayed_ladder_naming_no_space",
        |root| MediaConfig {
            hls_ladder: parse_ladder("240:300").expect("ladder"),
            ..config(root)
        },
        Duration::from_secs(10),
    )
    .await
    else {
        return;
    };
    assert!(
        wait_for(Duration::from_secs(5), || ffmpeg_pids(&ended.session_id)
            .is_empty()
            .then_some(()))
        .await
        .is_some(),
        "no orphan ffmpeg"
    );
}
