//! Odd uploads through the whole worker: files a phone, an editor or a careless uploader really
//! produce (sound only, no sound, one frame, turned on display, HEVC 10-bit, a variable frame
//! rate, a picture too large). Each is made by ffmpeg from its test sources, as small and short
//! as it can be, and must end the way crates/media's limits and plan promise: refused once with
//! the sentence the uploader sees and nothing written, or done with renditions every browser
//! plays.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use ferrocast_kit::jobs::{Job, Outputs, Report, DEAD_STREAM, JOBS_STREAM};
use serde_json::Value;

use crate::support::World;

/// Runs ffmpeg with `args` (inputs and options) writing `out` in `dir`; the file's path.
pub fn ffmpeg(dir: &Path, args: &[impl AsRef<OsStr>], out: &str) -> PathBuf {
    let path = dir.join(out);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made no {out}");
    path
}

/// A file made by one ffmpeg run from lavfi sources.
pub fn made(args: &[impl AsRef<OsStr>]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::read(ffmpeg(dir.path(), args, "input.mp4")).expect("input")
}

/// `seconds` of 320×180 30 fps H.264 8-bit, no sound, with `extra` output options.
pub fn small_h264(seconds: &str, extra: &[&str]) -> Vec<String> {
    [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=30",
        "-t",
        seconds,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ]
    .iter()
    .chain(extra)
    .map(|arg| (*arg).to_owned())
    .collect()
}

/// Runs `bytes` as one job through a fresh worker; its reports until done or failed.
pub async fn run(world: &mut World, bytes: Vec<u8>) -> (Job, Vec<Report>) {
    let (shutdown, running) = world.worker(world.config()).await;
    let job = world.queue(bytes).await;
    let reports = world.reports_until_end(&job, Duration::from_secs(60)).await;
    shutdown.cancel();
    running.wait().await;
    (job, reports)
}

/// The job was refused on its first attempt with a reason containing `expected`, wrote
/// nothing, and left neither a queued job nor a dead letter.
pub async fn assert_refused(world: &World, job: &Job, reports: &[Report], expected: &str) {
    let Some(Report::Failed { reason, attempts }) = reports.last() else {
        panic!("not failed: {reports:?}");
    };
    assert!(reason.contains(expected), "{reason:?}");
    assert_eq!(*attempts, 1, "{reports:?}");
    assert!(
        !reports.iter().any(|r| matches!(r, Report::Playable { .. })),
        "{reports:?}"
    );
    let written = world.keys(&job.output_prefix).await;
    assert!(written.is_empty(), "{written:?}");
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(
        world.messages_in(DEAD_STREAM).await,
        0,
        "refusals are not dead letters"
    );
}

/// The job ended done on its first attempt and left neither a queued job nor a dead letter;
/// its outputs and master playlist.
pub async fn assert_done(world: &World, reports: &[Report]) -> (Outputs, String) {
    let starts: Vec<_> = reports
        .iter()
        .filter(|r| matches!(r, Report::Started { .. }))
        .collect();
    assert_eq!(starts, [&Report::Started { attempt: 1 }], "{reports:?}");
    let Some(Report::Done(outputs)) = reports.last() else {
        panic!("not done: {reports:?}");
    };
    assert_eq!(world.messages_in(JOBS_STREAM).await, 0);
    assert_eq!(world.messages_in(DEAD_STREAM).await, 0);
    let master =
        String::from_utf8(world.get(&outputs.master).await.expect("master")).expect("utf8");
    (outputs.clone(), master)
}

/// Every `CODECS="…"` value of a master playlist.
fn codecs(master: &str) -> Vec<&str> {
    master
        .split("CODECS=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// Every `RESOLUTION=WxH` of a master playlist.
fn resolutions(master: &str) -> Vec<(u32, u32)> {
    master
        .split("RESOLUTION=")
        .skip(1)
        .filter_map(|rest| {
            let size = rest.split([',', '\n']).next()?;
            let (width, height) = size.split_once('x')?;
            Some((width.parse().ok()?, height.parse().ok()?))
        })
        .collect()
}

/// ffprobe's video stream of a rendition as stored: its init segment and first media segment
/// joined, as a player would read them.
async fn probe_rendition(world: &World, job: &Job, name: &str) -> Value {
    let folder = format!("{}{name}/", job.output_prefix);
    let mut media: Vec<String> = world
        .keys(&folder)
        .await
        .into_iter()
        .filter(|k| !k.ends_with("init.mp4"))
        .collect();
    media.sort_by_key(|k| (k.len(), k.clone()));
    let first = media
        .first()
        .unwrap_or_else(|| panic!("no segment under {folder}"));
    let mut bytes = world
        .get(&format!("{folder}init.mp4"))
        .await
        .expect("init segment");
    bytes.extend(world.get(first).await.expect("media segment"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rendition.mp4");
    std::fs::write(&path, bytes).expect("write");
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_streams"])
        .args(["-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success(), "ffprobe failed on {name}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    report["streams"][0].clone()
}

/// The stream is H.264 8-bit 4:2:0 with no rotation left for the player to apply.
fn assert_browser_ready(stream: &Value) {
    assert_eq!(stream["codec_name"], "h264", "{stream}");
    assert_eq!(stream["pix_fmt"], "yuv420p", "{stream}");
    let rotated = stream["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|side| side["rotation"].as_i64().is_some_and(|r| r != 0));
    assert!(!rotated, "{stream}");
}

#[tokio::test]
async fn an_audio_only_file_is_refused_once_as_not_a_video_and_writes_nothing() {
    let mut world = World::start().await;
    let audio = made(&[
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000:duration=1",
        "-c:a",
        "aac",
    ]);
    let (job, reports) = run(&mut world, audio).await;
    assert_refused(
        &world,
        &job,
        &reports,
        "not a video: the file has sound but no picture",
    )
    .await;
}

#[tokio::test]
async fn a_one_frame_video_is_refused_once_as_too_short_and_writes_nothing() {
    let mut world = World::start().await;
    let one_frame = made(&small_h264("1", &["-frames:v", "1"]));
    let (job, reports) = run(&mut world, one_frame).await;
    assert_refused(
        &world,
        &job,
        &reports,
        "-second video: the shortest accepted is 0.5 s",
    )
    .await;
}

#[tokio::test]
async fn a_picture_just_over_4k_is_refused_once_from_its_size_and_writes_nothing() {
    let mut world = World::start().await;
    // Flat colour at 2 fps: a few kilobytes, made in a fraction of a second.
    let large = made(&[
        "-f",
        "lavfi",
        "-i",
        "color=size=3856x2176:rate=2",
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ]);
    let (job, reports) = run(&mut world, large).await;
    assert_refused(
        &world,
        &job,
        &reports,
        "the video is 3856×2176; the largest accepted is 3840×2160 (or 2160×3840 upright)",
    )
    .await;
}

#[tokio::test]
async fn a_video_without_sound_is_done_with_video_renditions_only() {
    let mut world = World::start().await;
    let silent = made(&small_h264("1", &[]));
    let (job, reports) = run(&mut world, silent).await;
    let (outputs, master) = assert_done(&world, &reports).await;

    // 180 lines: below every configured rung, so the copied source alone.
    assert_eq!(outputs.renditions, ["180p"]);
    assert!(
        !master.contains("mp4a") && !master.contains("TYPE=AUDIO"),
        "{master}"
    );
    assert!(
        codecs(&master).iter().all(|c| c.starts_with("avc1.")),
        "{master}"
    );
    let mpd = String::from_utf8(world.get(&outputs.mpd).await.expect("mpd")).expect("utf8");
    assert!(!mpd.contains("audio"), "{mpd}");
    assert_eq!(
        mpd.matches("<Representation").count(),
        outputs.renditions.len(),
        "{mpd}"
    );
    let keys = world.keys(&job.output_prefix).await;
    assert!(
        !keys
            .iter()
            .any(|k| k.starts_with(&format!("{}audio", job.output_prefix))),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_phone_video_turned_90_degrees_is_encoded_upright_as_portrait() {
    let mut world = World::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = ffmpeg(dir.path(), &small_h264("1", &[]), "plain.mp4");
    let plain = plain.to_string_lossy();
    let rotated = ffmpeg(
        dir.path(),
        &["-i", &plain, "-c", "copy", "-metadata:s:v:0", "rotate=90"],
        "rotated.mp4",
    );
    let (job, reports) = run(&mut world, std::fs::read(rotated).expect("rotated")).await;
    let (outputs, master) = assert_done(&world, &reports).await;

    // Shown 180×320: rungs at its height and the 240 one below, all encoded.
    let mut renditions = outputs.renditions.clone();
    renditions.sort();
    assert_eq!(renditions, ["240p", "320p"]);
    let sizes = resolutions(&master);
    assert_eq!(sizes.len(), 2, "{master}");
    assert!(sizes.iter().all(|(w, h)| w < h), "{master}");
    let top = probe_rendition(&world, &job, "320p").await;
    assert_browser_ready(&top);
    assert_eq!((&top["width"], &top["height"]), (&180.into(), &320.into()));
}

#[tokio::test]
async fn an_hevc_10_bit_source_is_encoded_to_h264_8_bit_for_every_rung() {
    let mut world = World::start().await;
    let hevc = made(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=30",
        "-t",
        "1",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p10le",
        "-tag:v",
        "hvc1",
        "-x265-params",
        "log-level=error",
    ]);
    let (job, reports) = run(&mut world, hevc).await;
    let (outputs, master) = assert_done(&world, &reports).await;

    // The plan encodes a source browsers cannot all play at every rung: its own height too.
    assert_eq!(outputs.renditions, ["180p"]);
    let codecs = codecs(&master);
    assert!(!codecs.is_empty(), "{master}");
    assert!(codecs.iter().all(|c| c.starts_with("avc1.")), "{master}");
    assert!(
        !master.contains("hvc1") && !master.contains("hev1"),
        "{master}"
    );
    let stream = probe_rendition(&world, &job, "180p").await;
    assert_browser_ready(&stream);
    assert_eq!(stream["bits_per_raw_sample"], "8", "{stream}");
}

#[tokio::test]
async fn a_variable_frame_rate_source_is_encoded_at_a_constant_rate() {
    let mut world = World::start().await;
    // Half a second at 30 fps, then a second at 10 fps: a mean of about 17, a base of 30.
    let vfr = made(&small_h264(
        "1.5",
        &[
            "-vf",
            "setpts='if(lt(N,15),N/30/TB,(0.5+(N-15)/10)/TB)'",
            "-fps_mode",
            "vfr",
        ],
    ));
    let (job, reports) = run(&mut world, vfr).await;
    let (outputs, master) = assert_done(&world, &reports).await;

    assert_eq!(outputs.renditions, ["180p"]);
    assert!(
        codecs(&master).iter().all(|c| c.starts_with("avc1.")),
        "{master}"
    );
    // Not the copy: the plan's constant rate, the smallest standard one above the mean.
    let stream = probe_rendition(&world, &job, "180p").await;
    assert_browser_ready(&stream);
    assert_eq!(stream["r_frame_rate"], "24/1", "{stream}");
}
