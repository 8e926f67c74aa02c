//! The VOD worker's benchmarks, run by `bench/run` (sections `vod` and `queue`,
//! bench/README.md). `vod`: a 60 s 1080p30 H.264/AAC upload (what a phone or an editor exports) through the real worker —
//! NATS JetStream, SeaweedFS, ffmpeg, Shaka Packager, the production ladder and preset — timed
//! from the job's publication (what finalize does) to the first playable master (fast start) and
//! to the full ladder; then the same ffmpeg and packager commands run by hand, one after the
//! other, in a scratch folder, as the fair peer of the worker's wall and CPU time (the worker adds
//! the download, the uploads and the queue). `queue` ([`queue`]): the job loop itself, with no
//! work in the jobs, against bare JetStream. Prints a markdown section each; exit status 0
//! whenever it ran to the end: a missed target is a cell, not a failure.

mod queue;

use std::{
    ffi::OsString,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use async_nats::jetstream;
use aws_sdk_s3::primitives::ByteStream;
use ferrocast_kit::{
    jobs::{self, Event, Job, Report},
    s3::{self, Deadlines},
};
use ferrocast_media::{
    ladder::{self, argv::AudioPlan, Encoding},
    vod::{
        self,
        argv::{self, EncodeOptions},
        package::{PackKind, PackStream, Package},
        probe::longest_keyframe_gap,
        Limits, PlanOptions, Probe, VodPlan,
    },
};
use ferrocast_testkit::{nats::Nats, workspace_root, ObjectStorage};
use futures::StreamExt;

/// Finalize → playable target, s.
const PLAYABLE_TARGET: f64 = 5.0;
/// Worker wall and CPU ÷ the same commands by hand.
const OVERHEAD_TARGET: f64 = 1.05;

/// The sections, in the order they run.
const SECTIONS: [&str; 2] = ["vod", "queue"];

struct Settings {
    smoke: bool,
    seconds: u32,
    height: u32,
    sections: Vec<String>,
}

fn settings() -> anyhow::Result<Settings> {
    let mut settings = Settings {
        smoke: false,
        seconds: 60,
        height: 1080,
        sections: SECTIONS.map(str::to_owned).to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => {
                settings.smoke = true;
                settings.seconds = 4;
                settings.height = 480;
            }
            "--only" => {
                let only = args.next().context("--only takes sections, e.g. queue")?;
                settings.sections = only.split(',').map(str::to_owned).collect();
                if let Some(unknown) = settings
                    .sections
                    .iter()
                    .find(|s| !SECTIONS.contains(&s.as_str()))
                {
                    bail!("unknown section {unknown}; known: {}", SECTIONS.join(", "));
                }
            }
            "--help" | "-h" => {
                println!(
                    "ferrocast-bench-vod-worker [--smoke] [--only {}]",
                    SECTIONS.join(",")
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    Ok(settings)
}

/// CPU seconds of this process and its waited-for children, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (in parentheses, may hold spaces): fields 14–17 are utime, stime,
    // cutime, cstime in clock ticks.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = (11..15)
        .filter_map(|i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

/// A `seconds` long H.264 High/AAC MP4 of `height` lines, 30 fps, a keyframe every 2 s, at a
/// phone's bit rate.
fn source(dir: &Path, seconds: u32, height: u32) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("source-{height}p-{seconds}s.mp4"));
    let width = height * 16 / 9;
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={width}x{height}:rate=30"),
        ])
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
        ])
        .args(["-b:v", if height >= 1080 { "8M" } else { "1M" }, "-g", "60"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"])
        .args(["-movflags", "+faststart"])
        .arg(&path)
        .status()
        .context("ffmpeg runs")?;
    if !status.success() {
        bail!("ffmpeg could not make the source");
    }
    Ok(path)
}

fn packager() -> PathBuf {
    std::env::var_os("PACKAGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".ferrocast/venv/bin/packager"))
}

struct Timed {
    playable: Duration,
    done: Duration,
    cpu: f64,
    renditions: Vec<String>,
}

/// The job through the real worker: upload the source, publish the job, read the reports.
async fn through_worker(file: &Path, scratch: &Path) -> anyhow::Result<Timed> {
    let nats = Nats::start().await?;
    let storage_server = ObjectStorage::start().await?;
    let storage = storage_server.fresh_bucket();
    let client = s3::client(&storage, &storage.endpoint, Deadlines::QUICK);
    client
        .create_bucket()
        .bucket(&storage.bucket)
        .send()
        .await?;
    let media = uuid::Uuid::new_v4();
    let key = format!("media/{media}/original");
    client
        .put_object()
        .bucket(&storage.bucket)
        .key(&key)
        .body(ByteStream::from_path(file).await?)
        .send()
        .await?;
    let mut config = ferrocast_worker::Config::for_tests(
        nats.url(),
        storage.clone(),
        scratch.to_owned(),
        ferrocast_kit::config::TEST_SERVICE_TOKEN,
    );
    // Production encoding: the default ladder and preset.
    config.work.ladder = ladder::DEFAULT_LADDER.into();
    config.work.preset = EncodeOptions::default().preset.into();
    config.work.packager = packager();
    config.work.max_source_bytes = 8 << 30;
    let nats_client = async_nats::connect(nats.url()).await?;
    let mut reports = nats_client.subscribe("vod.events.>").await?;
    let js = jetstream::new(nats_client);
    jobs::ensure_streams(&js, 1)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = ferrocast_worker::start(config, shutdown.clone()).await?;
    let job = Job::for_item(media, uuid::Uuid::new_v4(), key, &format!("media/{media}/"));
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    jobs::enqueue(&js, &job)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut playable = None;
    let timed = loop {
        let message = tokio::time::timeout(Duration::from_secs(1800), reports.next())
            .await
            .context("no report within 30 min")?
            .context("report subscription closed")?;
        let event: Event = serde_json::from_slice(&message.payload)?;
        match event.report {
            Report::Playable { .. } => {
                playable.get_or_insert_with(|| started.elapsed());
            }
            Report::Done(outputs) => {
                break Timed {
                    playable: playable.unwrap_or_else(|| started.elapsed()),
                    done: started.elapsed(),
                    cpu: cpu_seconds() - cpu_before,
                    renditions: outputs.renditions,
                };
            }
            Report::Failed { reason, .. } => bail!("the job failed: {reason}"),
            _ => {}
        }
    };
    shutdown.cancel();
    running.wait().await;
    Ok(timed)
}

struct ByHand {
    wall: Duration,
    cpu: f64,
    encode_cpu: f64,
    duration: Duration,
}

fn run(program: &Path, args: &[OsString]) -> anyhow::Result<()> {
    let status = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .with_context(|| format!("{} runs", program.display()))?;
    if !status.success() {
        bail!("{} {} failed", program.display(), argv::display(args));
    }
    Ok(())
}

/// The commands the worker runs for this file, by hand: probe, the copy (or the audio), each
/// rung, each stream packaged alone, poster, sprites, the last packager run.
fn by_hand(file: &Path, dir: &Path) -> anyhow::Result<ByHand> {
    let ffmpeg = PathBuf::from("ffmpeg");
    let ffprobe = PathBuf::from("ffprobe");
    let packager = packager();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let report = std::process::Command::new(&ffprobe)
        .args(argv::probe(file))
        .output()?;
    let probe = Probe::parse(&report.stdout).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut source = vod::check(&probe, &Limits::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let packets = std::process::Command::new(&ffprobe)
        .args(argv::keyframes(file))
        .output()?;
    source.keyframe_gap = longest_keyframe_gap(&String::from_utf8_lossy(&packets.stdout));
    let plan: VodPlan = vod::plan(&source, &PlanOptions::default());
    let out = dir.join("out");
    std::fs::create_dir_all(&out)?;
    let audio = dir.join("audio.mp4");
    if plan.audio != AudioPlan::None && !plan.copy_source {
        if let Some(args) = argv::audio(file, &plan, &audio) {
            run(&ffmpeg, &args)?;
        }
    }
    let mut encode_cpu = 0.0;
    let mut made = Vec::new();
    let mut audio_packaged = false;
    for rung in &plan.rungs {
        let output = dir.join(format!("{}.mp4", rung.name));
        let args = match rung.encoding {
            Encoding::Copy => argv::copy_source(file, &plan, &output, &audio),
            Encoding::X264 { .. } => {
                argv::encode_rung(file, &plan, rung, &EncodeOptions::default(), &output)
            }
        };
        let before = cpu_seconds();
        run(&ffmpeg, &args)?;
        if matches!(rung.encoding, Encoding::X264 { .. }) {
            encode_cpu += cpu_seconds() - before;
        }
        if plan.audio != AudioPlan::None && !audio_packaged {
            package(
                &packager,
                &[(PackKind::Audio, &audio, "audio")],
                &out,
                &plan,
                None,
            )?;
            audio_packaged = true;
        }
        package(
            &packager,
            &[(PackKind::Video, &output, &rung.name)],
            &out,
            &plan,
            None,
        )?;
        made.push((rung.name.clone(), output));
    }
    run(&ffmpeg, &argv::poster(file, &plan, &out.join("poster.jpg")))?;
    let thumbs = out.join("thumbs");
    std::fs::create_dir_all(&thumbs)?;
    let smallest = made.last().map_or(file, |(_, p)| p.as_path());
    run(&ffmpeg, &argv::sprites(smallest, &plan, &thumbs))?;
    let mut all: Vec<(PackKind, &Path, &str)> = Vec::new();
    if audio_packaged {
        all.push((PackKind::Audio, &audio, "audio"));
    }
    for (name, path) in &made {
        all.push((PackKind::Video, path, name));
    }
    package(
        &packager,
        &all,
        &out,
        &plan,
        Some(&out.join("manifest.mpd")),
    )?;
    Ok(ByHand {
        wall: started.elapsed(),
        cpu: cpu_seconds() - cpu_before,
        encode_cpu,
        duration: plan.duration,
    })
}

fn package(
    packager: &Path,
    streams: &[(PackKind, &Path, &str)],
    out: &Path,
    plan: &VodPlan,
    mpd: Option<&Path>,
) -> anyhow::Result<()> {
    let streams: Vec<PackStream> = streams
        .iter()
        .map(|(kind, input, name)| PackStream {
            kind: *kind,
            input,
            name,
        })
        .collect();
    let master = out.join(format!("packager-{}.m3u8", streams[0].name));
    let args = Package {
        streams: &streams,
        out_dir: out,
        segment_seconds: plan.segment_seconds,
        hls_master: &master,
        mpd,
        key_flagfile: None,
    }
    .argv()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    run(packager, &args)
}

fn main() -> anyhow::Result<()> {
    let settings = settings()?;
    let runtime = tokio::runtime::Runtime::new()?;
    for section in &settings.sections {
        let markdown = match section.as_str() {
            "vod" => vod(&settings, &runtime)?,
            _ => {
                eprintln!("vod-worker: the queue");
                let sizes = if settings.smoke {
                    queue::SMOKE
                } else {
                    queue::FULL
                };
                runtime.block_on(queue::section(&sizes, settings.smoke))?
            }
        };
        println!("{markdown}");
    }
    Ok(())
}

/// The `vod` section's markdown.
fn vod(settings: &Settings, runtime: &tokio::runtime::Runtime) -> anyhow::Result<String> {
    let work = tempfile::tempdir()?;
    eprintln!(
        "vod-worker: making a {} s {}p source",
        settings.seconds, settings.height
    );
    let file = source(work.path(), settings.seconds, settings.height)?;
    let size = std::fs::metadata(&file)?.len();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("vod-worker: through the worker");
    let worker = runtime.block_on(through_worker(&file, &work.path().join("worker")))?;
    eprintln!("vod-worker: the same commands by hand");
    let hand_dir = work.path().join("hand");
    std::fs::create_dir_all(&hand_dir)?;
    let hand = by_hand(&file, &hand_dir)?;

    let mut out = String::from("## VOD worker: fast start, full ladder, overhead\n\n");
    let _ = writeln!(
        out,
        "- source: {} s {}p30 H.264 High + AAC, {:.1} MB, a keyframe every 2 s; renditions made: {}",
        settings.seconds,
        settings.height,
        size as f64 / 1e6,
        worker.renditions.join(", ")
    );
    let _ = writeln!(
        out,
        "- the worker in this process with the production ladder (`{}`) and preset (`veryfast`), one job at a time, against a NATS server and a SeaweedFS of the run's own; timed from the job's publication (finalize) to its reports",
        ladder::DEFAULT_LADDER
    );
    let _ = writeln!(out, "- load average at start: {}", load.trim());
    out += "\n| figure | worker | by hand | ratio | target | met |\n|---|---|---|---|---|---|\n";
    let playable = worker.playable.as_secs_f64();
    let _ = writeln!(
        out,
        "| finalize → playable (fast start), s | {playable:.2} | – | – | ≤ {PLAYABLE_TARGET} s | {} |",
        if playable <= PLAYABLE_TARGET { "yes" } else { "**no**" }
    );
    let done = worker.done.as_secs_f64();
    let wall_ratio = done / hand.wall.as_secs_f64().max(1e-3);
    let _ = writeln!(
        out,
        "| finalize → full ladder (wall), s | {done:.1} | {:.1} | {wall_ratio:.2}× | ≤ {OVERHEAD_TARGET}× | {} |",
        hand.wall.as_secs_f64(),
        if wall_ratio <= OVERHEAD_TARGET { "yes" } else { "**no**" }
    );
    let cpu_ratio = worker.cpu / hand.cpu.max(1e-3);
    let _ = writeln!(
        out,
        "| CPU of the job (process + its children), s | {:.1} | {:.1} | {cpu_ratio:.2}× | ≤ {OVERHEAD_TARGET}× | {} |",
        worker.cpu,
        hand.cpu,
        if cpu_ratio <= OVERHEAD_TARGET { "yes" } else { "**no**" }
    );
    let speed = if hand.encode_cpu > 0.0 {
        format!("{:.2}", hand.duration.as_secs_f64() / hand.encode_cpu)
    } else {
        "– (no rung encoded)".to_owned()
    };
    let _ = writeln!(
        out,
        "| ladder encode speed, × real time per core (video seconds ÷ CPU seconds of the x264 rungs, by hand) | {speed} | – | – | – | – |"
    );
    out += "\nNotes:\n\n- By hand: the same argv the worker builds (crates/media `vod`), run one after the other from a local file, no queue, no storage. The worker's extra is the download of the original, the uploads of every output and the reports.\n";
    if settings.smoke {
        out += "- Smoke sizes: the figures prove the harness, not the targets.\n";
    }
    Ok(out)
}
