//! Shared by the `media_*` tests and `live_acceptance`: makes short FLV sources with ffmpeg,
//! reads them back into `MediaPacket`s with the media crate's FLV reader, pushes them in real
//! time through a sink, finds the ffmpeg process of a session, and reads playlists and segments
//! back.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::BytesMut;
use ferrocast_ingest::{
    adapters::hls::HlsRegistry,
    adapters::media::{FfmpegTranscoder, MediaConfig},
    ports::{MediaError, MediaPacket, MediaSink, Publisher, Transcoder},
};
use ferrocast_media::codec::flv_reader::FlvDecoder;
use ferrocast_testkit::{process, Tmpfs};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A test source: `size` like `1280x720`, keyframe every second.
pub fn make_flv(dir: &Path, size: &str, fps: u32, seconds: u32) -> PathBuf {
    let path = dir.join(format!("source_{size}_{fps}_{seconds}.flv"));
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={size}:rate={fps}"),
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-g", &fps.to_string(), "-b:v", "1500k"])
        .args(["-c:a", "aac", "-b:a", "64k", "-f", "flv"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the source");
    path
}

/// Splits an FLV file into the packets an RTMP publisher would have sent.
pub fn read_packets(path: &Path) -> Vec<MediaPacket> {
    let data = std::fs::read(path).expect("source file");
    assert_eq!(&data[..3], b"FLV");
    let mut data = BytesMut::from(&data[..]);
    let mut reader = FlvDecoder::default();
    std::iter::from_fn(|| reader.decode(&mut data).expect("ffmpeg writes valid FLV"))
        .map(MediaPacket::from)
        .collect()
}

fn timestamp(packet: &MediaPacket) -> u32 {
    match packet {
        MediaPacket::Metadata { .. } => 0,
        MediaPacket::Video { timestamp_ms, .. } | MediaPacket::Audio { timestamp_ms, .. } => {
            *timestamp_ms
        }
    }
}

/// `packets` repeated `loops` times with ever-increasing timestamps; codec headers and metadata
/// only the first time, as a real publisher sends them. Lazy, so `loops` may be huge.
fn retimed(packets: &[MediaPacket], loops: u32) -> impl Iterator<Item = MediaPacket> + '_ {
    let duration = packets.iter().map(timestamp).max().unwrap_or(0) + 40;
    (0..loops).flat_map(move |round| {
        let offset = round * duration;
        packets
            .iter()
            .filter_map(move |packet| match packet.clone() {
                MediaPacket::Metadata { .. } if round > 0 => None,
                MediaPacket::Video { data, .. } | MediaPacket::Audio { data, .. }
                    if round > 0 && data.get(1) == Some(&0) =>
                {
                    None
                }
                MediaPacket::Video { timestamp_ms, data } => Some(MediaPacket::Video {
                    timestamp_ms: timestamp_ms + offset,
                    data,
                }),
                MediaPacket::Audio { timestamp_ms, data } => Some(MediaPacket::Audio {
                    timestamp_ms: timestamp_ms + offset,
                    data,
                }),
                other => Some(other),
            })
    })
}

/// Pushes `packets` at their timestamps, `loops` times over (see [`retimed`]). Stops early when
/// the sink refuses a packet; returns the sink and how many packets it accepted.
pub async fn feed_realtime(
    mut sink: Box<dyn MediaSink>,
    packets: Vec<MediaPacket>,
    loops: u32,
) -> (Box<dyn MediaSink>, usize) {
    let started = Instant::now();
    let mut accepted = 0;
    for packet in retimed(&packets, loops) {
        let due = started + Duration::from_millis(u64::from(timestamp(&packet)));
        tokio::time::sleep_until(due).await;
        if sink.push(packet).is_err() {
            return (sink, accepted);
        }
        accepted += 1;
    }
    (sink, accepted)
}

/// Pushes `packets` over and over, as fast as the sink takes them, like a publisher whose
/// transcoder has fallen behind real time: the pipeline's queue stays full until aborted.
pub async fn feed_flat_out(
    mut sink: Box<dyn MediaSink>,
    packets: Vec<MediaPacket>,
) -> Box<dyn MediaSink> {
    for packet in retimed(&packets, u32::MAX) {
        if sink.push(packet).is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    sink
}

/// Test settings: a short cleanup grace, the fastest x264 preset, 1 s segments.
pub fn config(root: &Path) -> MediaConfig {
    MediaConfig {
        ffmpeg_path: PathBuf::from("/usr/bin/ffmpeg"),
        hls_root: root.to_path_buf(),
        hls_x264_preset: "ultrafast".into(),
        hls_segment_seconds: 1,
        cleanup_grace: Duration::from_secs(1),
        stop_timeout: Duration::from_secs(5),
        ..MediaConfig::default()
    }
}

pub fn transcoder(config: MediaConfig) -> (FfmpegTranscoder, HlsRegistry, CancellationToken) {
    // Logs (and ffmpeg's stderr at debug) show with `RUST_LOG=... -- --nocapture`.
    ferrocast_kit::telemetry::init("ingest-media-test");
    let registry = HlsRegistry::new();
    let shutdown = CancellationToken::new();
    (
        FfmpegTranscoder::new(config, registry.clone(), shutdown.clone()),
        registry,
        shutdown,
    )
}

pub fn publisher(prefix: &str) -> Publisher {
    let session_id = uuid_like();
    Publisher {
        user_id: format!("user-{session_id}"),
        username: ferrocast_testkit::unique_name(prefix),
        session_id,
    }
}

fn uuid_like() -> String {
    // 32 hex digits like a simple uuid v4, unique enough to grep the process table for.
    let a = ferrocast_testkit::unique_name("");
    let b = ferrocast_testkit::unique_name("");
    let c = ferrocast_testkit::unique_name("");
    format!("{a}{b}{}", &c[..8])
}

/// Pids of ffmpeg processes writing under this session's folder.
pub fn ffmpeg_pids(session_id: &str) -> Vec<u32> {
    process::pgrep(&format!("ffmpeg.*{session_id}"))
}

pub fn kill_9(pid: u32) {
    process::signal(pid, "-9");
}

/// Polls `check` every 100 ms for up to `timeout`.
pub async fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the pipeline of `publisher` writes the playlist of `rendition` under the HLS `root`.
pub fn variant_playlist(root: &Path, publisher: &Publisher, rendition: &str) -> PathBuf {
    root.join(&publisher.username)
        .join(&publisher.session_id)
        .join(rendition)
        .join("index.m3u8")
}

/// Segment names listed in a playlist.
pub fn segments(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `WIDTHxHEIGHT` of the video in a segment (a file, or a URL such as the origin's), as ffprobe
/// decodes it.
pub fn probe_resolution(segment: &Path) -> String {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=width,height", "-of", "csv=s=x:p=0"])
        .arg(segment)
        .output()
        .expect("ffprobe runs");
    // The stream may be listed once per program as well: the first line is enough.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Whether ffprobe can decode frames of the segment without error.
pub fn decodes(segment: &Path) -> bool {
    Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(segment)
        .args(["-f", "null", "-"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `(uri, resolution, codecs)` of each variant in a master playlist; each must have a BANDWIDTH.
pub fn variants(master: &str) -> Vec<(String, String, String)> {
    let lines: Vec<&str> = master.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXT-X-STREAM-INF:"))
        .map(|w| {
            let attribute = |name: &str| {
                w[0].split(&format!("{name}="))
                    .nth(1)
                    .map(|rest| {
                        if let Some(quoted) = rest.strip_prefix('"') {
                            quoted.split('"').next().unwrap_or("").to_owned()
                        } else {
                            rest.split(',').next().unwrap_or("").to_owned()
                        }
                    })
                    .unwrap_or_default()
            };
            assert!(
                attribute("BANDWIDTH").parse::<u64>().is_ok_and(|b| b > 0),
                "{}",
                w[0]
            );
            (
                w[1].to_owned(),
                attribute("RESOLUTION"),
                attribute("CODECS"),
            )
        })
        .collect()
}

/// Keeps the file system of `filler` full, the way another writer on a shared volume would:
/// whatever ffmpeg's sliding window frees is taken again within milliseconds. Stops when
/// dropped.
pub struct DiskHog {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DiskHog {
    pub fn start(filler: PathBuf) -> Self {
        use std::io::Write;

        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok(mut file) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&filler)
                else {
                    break;
                };
                while file.write_all(&[0u8; 4096]).is_ok() {}
                // Byte by byte for the last partial page.
                while file.write_all(&[0u8]).is_ok() {}
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for DiskHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What `sink`'s pipeline failed with, once it has refused packets (it says so within 1 s).
pub async fn failure(sink: &dyn MediaSink) -> MediaError {
    tokio::time::timeout(Duration::from_secs(1), sink.failed())
        .await
        .expect("failed() resolved")
}

/// Why a pipeline that refused packets on a full disk ended: a reason that names the full disk.
pub async fn no_space_reason(sink: &dyn MediaSink) -> String {
    let error = failure(sink).await;
    let MediaError::Ended(reason) = error else {
        panic!("{error}")
    };
    assert!(
        reason.starts_with("no space left on the HLS disk"),
        "{reason}"
    );
    reason
}

/// How a stream ended on a full disk (see [`run_until_the_disk_fills`]).
pub struct FullDisk {
    pub reason: String,
    /// The 360p playlist as the failed pipeline left it.
    pub playlist: String,
    pub session_id: String,
}

/// a 360p stream on a 4 MiB tmpfs; once it has two segments, another writer keeps the disk
/// full. Returns the pipeline's failure reason, which names the full disk, once it refused
/// packets (within `refuse_within`), after a clean `finish` that leaves the user offline. `None` (test skipped, said on stderr)
/// where mounting a tmpfs is not permitted.
pub async fn run_until_the_disk_fills(
    test: &str,
    configure: impl FnOnce(&Path) -> MediaConfig,
    refuse_within: Duration,
) -> Option<FullDisk> {
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("hls");
    let Some(_tmpfs) = Tmpfs::mount(&root, "4m") else {
        eprintln!(
            "SKIPPED {test}: `mount -t tmpfs` is not permitted here (needs root or CAP_SYS_ADMIN)"
        );
        return None;
    };
    let packets = read_packets(&make_flv(work.path(), "640x360", 30, 4));
    let (transcoder, registry, _shutdown) = transcoder(configure(&root));
    let publisher = publisher("diskfull");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let playlist = variant_playlist(&root, &publisher, "360p");
    let read = || std::fs::read_to_string(&playlist).unwrap_or_default();
    let feeding = tokio::spawn(feed_realtime(sink, packets, 20));
    wait_for(Duration::from_secs(10), || {
        (segments(&read()).len() >= 2).then_some(())
    })
    .await
    .expect("segments before the disk fills");

    let hog = DiskHog::start(root.join("filler"));
    let (sink, _) = tokio::time::timeout(refuse_within, feeding)
        .await
        .expect("the pipeline refused packets once the disk was full")
        .expect("feeder");
    let reason = no_space_reason(&*sink).await;
    drop(hog);
    let ended = read();
    sink.finish().await;
    assert!(!registry.is_live(&publisher.username));
    Some(FullDisk {
        reason,
        playlist: ended,
        session_id: publisher.session_id,
    })
}

/// The `#EXTINF` durations of a playlist, in seconds.
pub fn durations(playlist: &str) -> Vec<f64> {
    playlist
        .lines()
        .filter_map(|line| line.strip_prefix("#EXTINF:"))
        .filter_map(|rest| rest.split(',').next()?.parse().ok())
        .collect()
}

/// The `#EXT-X-PART` lines of a playlist: (duration in seconds, URI, independent).
pub fn parts(playlist: &str) -> Vec<(f64, String, bool)> {
    playlist
        .lines()
        .filter_map(|line| line.strip_prefix("#EXT-X-PART:"))
        .map(|attributes| {
            let duration = attributes
                .split(',')
                .find_map(|pair| pair.strip_prefix("DURATION="))
                .and_then(|value| value.parse().ok())
                .expect("DURATION");
            let uri = attributes
                .split("URI=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("URI");
            (
                duration,
                uri.to_owned(),
                attributes.contains("INDEPENDENT=YES"),
            )
        })
        .collect()
}

/// The bytes the origin serves for a listed part of `rendition`.
pub async fn part_bytes(
    registry: &HlsRegistry,
    user: &str,
    rendition: &str,
    name: &str,
) -> Vec<u8> {
    registry
        .live_part(user, rendition, name)
        .await
        .unwrap_or_else(|| panic!("listed part {name} is served"))
        .bytes
        .to_vec()
}

/// A complete `segment` of `rendition` whose parts `live` lists is its three parts back to back,
/// the first opening on its keyframe (the origin serves them as ranges of the segment's file).
pub async fn assert_segment_is_its_parts(
    registry: &HlsRegistry,
    user: &str,
    rendition: &str,
    rendition_dir: &Path,
    live: &str,
    segment: &str,
) {
    let stem = segment.trim_end_matches(".ts");
    let its_parts: Vec<_> = parts(live)
        .into_iter()
        .filter(|(_, uri, _)| uri.starts_with(&format!("{stem}-")))
        .collect();
    assert_eq!(its_parts.len(), 3, "{segment} in {live}");
    assert!(
        its_parts[0].2,
        "a segment's first part starts at its keyframe: {live}"
    );
    let mut joined = Vec::new();
    for (_, uri, _) in &its_parts {
        joined.extend(part_bytes(registry, user, rendition, uri).await);
    }
    assert_eq!(
        joined,
        std::fs::read(rendition_dir.join(segment)).expect("segment")
    );
}

/// The parts `live` lists of its segment in progress (those after its last complete segment),
/// read now, while the origin holds them in memory, are where that segment's file begins once
/// it is written: the same bytes, in order. Waits up to 5 s for the file.
pub async fn assert_open_parts_begin_their_segment(
    registry: &HlsRegistry,
    user: &str,
    rendition: &str,
    rendition_dir: &Path,
    live: &str,
) {
    let after_last = live.rsplit(".ts\n").next().unwrap_or_default();
    let open: Vec<String> = parts(after_last)
        .into_iter()
        .map(|(_, uri, _)| uri)
        .collect();
    let first = open
        .first()
        .unwrap_or_else(|| panic!("a part in progress: {live}"));
    let mut held = Vec::new();
    for name in &open {
        held.extend(part_bytes(registry, user, rendition, name).await);
    }
    let (stem, _) = first
        .rsplit_once('-')
        .expect("a part's name ends in -{index}");
    let file = rendition_dir.join(format!("{stem}.ts"));
    let written = wait_for(Duration::from_secs(5), || std::fs::read(&file).ok())
        .await
        .unwrap_or_else(|| panic!("{} written", file.display()));
    assert!(
        written.len() >= held.len() && written.starts_with(&held),
        "{} begins with the {} bytes of its parts {open:?}",
        file.display(),
        held.len()
    );
}

/// Once `playlist` lists two segments with one ffmpeg running for the session, SIGKILLs it;
/// returns its pid and the segments listed before the kill.
pub async fn kill_ffmpeg_once_it_writes(session_id: &str, playlist: &Path) -> (u32, Vec<String>) {
    let read = || std::fs::read_to_string(playlist).unwrap_or_default();
    let pid = wait_for(Duration::from_secs(10), || {
        let pids = ffmpeg_pids(session_id);
        (segments(&read()).len() >= 2 && pids.len() == 1).then(|| pids[0])
    })
    .await
    .expect("ffmpeg running with output");
    let before = segments(&read());
    kill_9(pid);
    (pid, before)
}

/// A publish running through a real pipeline: a source made by ffmpeg, pushed in real time.
pub struct Publishing {
    /// Holds the source and the HLS root.
    pub work: tempfile::TempDir,
    pub root: PathBuf,
    /// The session folder.
    pub dir: PathBuf,
    pub registry: HlsRegistry,
    pub publisher: Publisher,
    /// The feeder: the sink and how many packets it accepted, once the source is sent.
    pub feeding: tokio::task::JoinHandle<(Box<dyn MediaSink>, usize)>,
    /// The pipeline's owner and its shutdown token, held for as long as the publish runs.
    _transcoder: FfmpegTranscoder,
    _shutdown: CancellationToken,
}

/// Starts publishing a `size` source of `seconds` (30 fps), `loops` times over, as a publisher
/// named after `prefix`, into a pipeline configured by `configure` from the HLS root.
pub async fn start_publishing(
    prefix: &str,
    size: &str,
    seconds: u32,
    loops: u32,
    configure: impl FnOnce(&Path) -> MediaConfig,
) -> Publishing {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), size, 30, seconds));
    let root = work.path().join("hls");
    let (transcoder, registry, shutdown) = transcoder(configure(&root));
    let publisher = publisher(prefix);
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let feeding = tokio::spawn(feed_realtime(sink, packets, loops));
    let dir = root.join(&publisher.username).join(&publisher.session_id);
    Publishing {
        work,
        root,
        dir,
        registry,
        publisher,
        feeding,
        _transcoder: transcoder,
        _shutdown: shutdown,
    }
}
