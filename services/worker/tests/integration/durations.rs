//! The shortest and longest videos through the whole worker. Under half a second is refused
//! (a tap on record, not a video: too short for a segment, a poster and thumbnails to mean
//! anything), and a two-frame half second, the shortest accepted, is done completely. Too long
//! is refused from the probe alone, within seconds and without a single ffmpeg run, whether the
//! container says so or only its stream does, and so is a 1×1 picture lasting ten hours.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use ferrocast_kit::jobs::{Event, Report};
use ferrocast_worker::adapters::queue::now_ms;

use crate::{
    inputs::{assert_done, assert_refused, ffmpeg, made, run, small_h264},
    support::World,
};

/// A refusal from the probe costs a download, one ffprobe of the header and the reports.
const REFUSED_WITHIN: Duration = Duration::from_secs(3);

/// A script that writes its arguments to `calls` (one line per run) and then runs `program`:
/// what the worker ran, observed from outside it.
fn traced(dir: &Path, program: &str) -> PathBuf {
    let script = dir.join(program);
    let calls = dir.join(format!("{program}.calls"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec {program} \"$@\"\n",
            calls.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

/// The runs of `program` in `dir` for jobs (its `-version` check at start left out).
fn calls(dir: &Path, program: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{program}.calls")))
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().ends_with("-version"))
        .map(str::to_owned)
        .collect()
}

/// Runs `bytes` through a worker refusing videos above `max_duration`, its ffmpeg and ffprobe
/// traced, and checks the refusal came from the probe: no ffmpeg run, ffprobe once (no keyframe
/// scan), within [`REFUSED_WITHIN`] of the job's start, and one attempt with `expected` in its
/// reason, nothing written.
async fn assert_refused_from_the_probe(bytes: Vec<u8>, max_duration: Duration, expected: &str) {
    let mut world = World::start().await;
    let tools = tempfile::tempdir().expect("tempdir");
    let mut config = world.config();
    config.work.max_duration = max_duration;
    config.work.ffmpeg = traced(tools.path(), "ffmpeg");
    config.work.ffprobe = traced(tools.path(), "ffprobe");
    let (shutdown, running) = world.worker(config).await;
    let job = world.upload(bytes).await;
    let queued_ms = now_ms();
    world.enqueue(&job).await;
    let events = world.events_until_end(&job, Duration::from_secs(60)).await;
    shutdown.cancel();
    running.wait().await;
    let reports: Vec<Report> = events.iter().map(|event| event.report.clone()).collect();
    assert_refused(&world, &job, &reports, expected).await;
    let at = |wanted: fn(&Report) -> bool| {
        events
            .iter()
            .find(|event| wanted(&event.report))
            .map(|event: &Event| event.at_ms)
            .expect("reported")
    };
    let failed = at(|r| matches!(r, Report::Failed { .. }));
    let took = Duration::from_millis(failed - at(|r| matches!(r, Report::Started { .. })));
    assert!(took < REFUSED_WITHIN, "started to failed in {took:?}");
    // The worker's clock and the test's are the machine's.
    let waited = Duration::from_millis(failed.saturating_sub(queued_ms));
    assert!(
        waited < REFUSED_WITHIN + Duration::from_secs(1),
        "queued to failed in {waited:?}"
    );
    assert_eq!(calls(tools.path(), "ffmpeg"), Vec::<String>::new());
    let probes = calls(tools.path(), "ffprobe");
    assert_eq!(probes.len(), 1, "{probes:?}");
    assert!(probes[0].contains("-show_format"), "{probes:?}");
}

#[tokio::test]
async fn a_third_of_a_second_video_is_refused_once_as_too_short_and_writes_nothing() {
    let mut world = World::start().await;
    // Nine frames at 30 fps.
    let short = made(&small_h264("0.3", &[]));
    let (job, reports) = run(&mut world, short).await;
    assert_refused(
        &world,
        &job,
        &reports,
        "0.3-second video: the shortest accepted is 0.5 s",
    )
    .await;
}

#[tokio::test]
async fn a_two_frame_half_second_video_the_shortest_accepted_is_done_with_every_output() {
    let mut world = World::start().await;
    // Two frames at 4 fps: half a second exactly.
    let two_frames = made(&small_h264("0.5", &["-r", "4", "-frames:v", "2"]));
    let (job, reports) = run(&mut world, two_frames).await;
    let (outputs, master) = assert_done(&world, &reports).await;

    assert_eq!(outputs.renditions, ["180p"]);
    assert_eq!(outputs.duration_ms, 500, "{outputs:?}");
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 1, "{master}");
    let playlist = String::from_utf8(
        world
            .get(&format!("{}180p.m3u8", job.output_prefix))
            .await
            .expect("media playlist"),
    )
    .expect("utf8");
    assert_eq!(playlist.matches("#EXTINF").count(), 1, "{playlist}");
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    let mpd = String::from_utf8(world.get(&outputs.mpd).await.expect("mpd")).expect("utf8");
    assert_eq!(mpd.matches("<Representation").count(), 1, "{mpd}");
    let poster = world.get(&outputs.poster).await.expect("poster");
    assert_eq!(&poster[..2], [0xFF, 0xD8], "a JPEG");
    let vtt = String::from_utf8(world.get(&outputs.thumbnails).await.expect("vtt")).expect("utf8");
    assert!(vtt.starts_with("WEBVTT") && vtt.contains("#xywh="), "{vtt}");
}

/// ffmpeg's arguments for ten minutes of a flat picture at 10 fps: a hundred kilobytes made in
/// a moment, and more than a minute of work to transcode.
const TEN_FLAT_MINUTES: &[&str] = &[
    "-f",
    "lavfi",
    "-i",
    "color=size=320x180:rate=10",
    "-t",
    "600",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
];

#[tokio::test]
async fn a_video_longer_than_the_configured_maximum_is_refused_from_its_probe_within_seconds() {
    let long = made(TEN_FLAT_MINUTES);
    assert_refused_from_the_probe(
        long,
        Duration::from_secs(60),
        "the video lasts 10:00; the longest accepted is 1:00: split it into parts",
    )
    .await;
}

/// `bytes` (an MP4 from ffmpeg) with its movie header's duration set to `seconds`: a file whose
/// container claims less than its stream holds. The stream's own header keeps the truth.
fn claiming(mut bytes: Vec<u8>, seconds: u32) -> Vec<u8> {
    let at = bytes
        .windows(4)
        .position(|w| w == b"mvhd")
        .expect("a movie header");
    // Version 0: version and flags, creation, modification, timescale, duration, 4 bytes each.
    assert_eq!(bytes[at + 4], 0, "a version 0 movie header");
    let field = |i: usize| at + 4 + 4 * i;
    let timescale = u32::from_be_bytes(bytes[field(3)..field(4)].try_into().expect("four bytes"));
    bytes[field(4)..field(5)].copy_from_slice(&(timescale * seconds).to_be_bytes());
    bytes
}

#[tokio::test]
async fn a_video_whose_container_claims_seconds_over_a_long_stream_is_refused_by_the_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = ffmpeg(dir.path(), TEN_FLAT_MINUTES, "long.mp4");
    let lying = claiming(std::fs::read(long).expect("file"), 2);
    // ffprobe believes the container: two seconds.
    let check = dir.path().join("lying.mp4");
    std::fs::write(&check, &lying).expect("write");
    let format = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&check)
        .output()
        .expect("ffprobe runs");
    assert_eq!(String::from_utf8_lossy(&format.stdout).trim(), "2.000000");

    assert_refused_from_the_probe(
        lying,
        Duration::from_secs(60),
        "the video lasts 10:00; the longest accepted is 1:00: split it into parts",
    )
    .await;
}

#[tokio::test]
async fn a_one_pixel_video_lasting_ten_hours_is_refused_from_its_probe_within_seconds() {
    // One frame a minute for ten hours: 600 frames, 17 kB.
    let bomb = made(&[
        "-f",
        "lavfi",
        "-i",
        "color=size=16x16:rate=1/60,scale=1:1",
        "-t",
        "36000",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv444p",
    ]);
    assert_refused_from_the_probe(
        bomb,
        Duration::from_secs(2 * 3600),
        "the video is 1×1 pixels; each side must be at least 16",
    )
    .await;
}
