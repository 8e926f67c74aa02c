//! Jobs end to end: a clip becomes a packaged stream; a bad file fails with a reason.

use std::time::Duration;

use ferrocast_kit::jobs::{Report, DEAD_STREAM, JOBS_STREAM};

use crate::support::{clip, World};

#[tokio::test]
async fn a_clip_plays_after_its_first_rendition_and_ends_with_hls_dash_poster_and_thumbnails() {
    let mut world = World::start().await;
    let (shutdown, running) = world.worker(world.config()).await;
    let job = world.queue(clip(6)).await;
    let reports = world
        .reports_until_end(&job, Duration::from_secs(120))
        .await;

    assert!(
        matches!(reports.first(), Some(Report::Started { attempt: 1 })),
        "{reports:?}"
    );
    let playable = reports
        .iter()
        .position(|r| matches!(r, Report::Playable { .. }))
        .unwrap_or_else(|| panic!("playable not reported: {reports:?}"));
    let Some(Report::Done(outputs)) = reports.last() else {
        panic!("not done: {reports:?}");
    };
    assert!(playable < reports.len() - 1);
    // Fast start: the H.264 source is copied, so the first playable master has it alone.
    assert!(
        matches!(&reports[playable], Report::Playable { renditions, .. } if renditions == &["360p"]),
        "{reports:?}"
    );
    assert!(reports.iter().any(|r| matches!(r, Report::Progress { .. })));
    assert_eq!(outputs.renditions, ["360p", "240p"]);
    assert!((5900..=6100).contains(&outputs.duration_ms), "{outputs:?}");

    let master =
        String::from_utf8(world.get(&outputs.master).await.expect("master")).expect("utf8");
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 2, "{master}");
    assert!(
        master.contains("avc1.") && master.contains("mp4a.40.2"),
        "{master}"
    );
    let mpd = String::from_utf8(world.get(&outputs.mpd).await.expect("mpd")).expect("utf8");
    assert!(mpd.contains("type=\"static\""), "{mpd}");
    assert_eq!(mpd.matches("<Representation").count(), 3, "{mpd}");
    let poster = world.get(&outputs.poster).await.expect("poster");
    assert_eq!(&poster[..2], [0xFF, 0xD8], "a JPEG");
    let vtt = String::from_utf8(world.get(&outputs.thumbnails).await.expect("vtt")).expect("utf8");
    assert!(vtt.starts_with("WEBVTT") && vtt.contains("#xywh="), "{vtt}");
    // Every rendition's segments, each under the job's prefix.
    let keys = world.keys(&job.output_prefix).await;
    for name in ["audio", "360p", "240p"] {
        assert!(
            keys.contains(&format!("{}{name}/init.mp4", job.output_prefix)),
            "{keys:?}"
        );
        assert!(
            keys.contains(&format!("{}{name}.m3u8", job.output_prefix)),
            "{keys:?}"
        );
        assert!(
            keys.iter()
                .filter(|k| k.starts_with(&format!("{}{name}/", job.output_prefix)))
                .count()
                >= 4,
            "{name}: {keys:?}"
        );
    }
    // The job left the queue; nothing was dead-lettered.
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(world.messages_in(DEAD_STREAM).await, 0);
    // The scratch folder is cleaned up.
    let left: Vec<_> = std::fs::read_dir(world.scratch.path().join("work"))
        .expect("scratch")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    shutdown.cancel();
    running.wait().await;
}

#[tokio::test]
async fn files_that_are_not_playable_videos_fail_once_with_a_reason_and_are_not_retried() {
    let mut world = World::start().await;
    let (shutdown, running) = world.worker(world.config()).await;
    let mut cut_short = clip(1);
    cut_short.truncate(400);
    for (bytes, expected) in [
        (
            b"<html><script>alert(1)</script></html>".to_vec(),
            "not a video",
        ),
        // Its header names the streams, their data is missing.
        (cut_short, "cannot decode"),
    ] {
        let job = world.queue(bytes).await;
        let reports = world.reports_until_end(&job, Duration::from_secs(60)).await;
        let Some(Report::Failed { reason, attempts }) = reports.last() else {
            panic!("not failed: {reports:?}");
        };
        assert!(reason.contains(expected), "{reason:?}");
        assert_eq!(*attempts, 1);
        assert!(world.keys(&job.output_prefix).await.is_empty());
    }
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(
        world.messages_in(DEAD_STREAM).await,
        0,
        "refusals are not dead letters"
    );
    shutdown.cancel();
    running.wait().await;
}

#[tokio::test]
async fn a_job_whose_original_is_gone_fails_once_with_that_reason() {
    let mut world = World::start().await;
    let (shutdown, running) = world.worker(world.config()).await;
    let media = uuid::Uuid::new_v4();
    let job = ferrocast_kit::jobs::Job::new(media, format!("originals/{media}"));
    world
        .js
        .publish(
            ferrocast_kit::jobs::JOBS_SUBJECT,
            serde_json::to_vec(&job).expect("json").into(),
        )
        .await
        .expect("publish")
        .await
        .expect("stored");
    let reports = world.reports_until_end(&job, Duration::from_secs(60)).await;
    let Some(Report::Failed { reason, attempts }) = reports.last() else {
        panic!("not failed: {reports:?}");
    };
    assert_eq!(
        (reason.as_str(), *attempts),
        ("the original file is gone", 1)
    );
    assert_eq!(world.messages_in(DEAD_STREAM).await, 0);
    shutdown.cancel();
    running.wait().await;
}
