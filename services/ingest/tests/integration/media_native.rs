//! The passthrough rendition remuxed by the ingest itself, checked with real ffmpeg/ffprobe:
//! no ffmpeg process for a passthrough-only stream, segments that decode on their own and as one
//! stream, durations and cuts that match ffmpeg's transcoded rungs, a clean end, a full disk.

use std::{path::Path, process::Command, time::Duration};

use crate::media_common::*;
use ferrocast_ingest::{adapters::media::MediaConfig, ports::Transcoder};

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).expect("metadata").ino()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `codec_name`s of a segment's streams, as ffprobe reads them (it may list the streams once
/// more under their program: only the first listing counts).
fn codecs(segment: &Path) -> Vec<String> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0"])
        .arg(segment)
        .output()
        .expect("ffprobe runs");
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    let streams = names.len() / 2;
    if streams > 0 && names[..streams] == names[streams..] {
        names.truncate(streams);
    }
    names
}

/// What ffmpeg says, at warning level, when it decodes `input` to the end.
fn decode_warnings(input: &Path) -> String {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "warning", "-i"])
        .arg(input)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(output.status.success(), "{}", input.display());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A stream without transcoded rungs, in plain HLS (low-latency parts, on by default, off: they
/// have their own test below).
fn passthrough_only(root: &Path) -> MediaConfig {
    MediaConfig {
        hls_ladder: Vec::new(),
        hls_part_millis: 0,
        ..config(root)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passthrough_only_runs_no_ffmpeg_and_writes_segments_that_play_as_one_stream() {
    let publishing = start_publishing("native", "640x360", 5, 1, passthrough_only).await;
    let (dir, registry, publisher) = (&publishing.dir, &publishing.registry, &publishing.publisher);
    let playlist_path = dir.join("360p").join("index.m3u8");

    let master = wait_for(Duration::from_secs(10), || {
        let master = read(&dir.join("master.m3u8"));
        let listed = segments(&read(&playlist_path)).len() >= 2;
        (listed && !variants(&master).is_empty()).then_some(master)
    })
    .await
    .expect("master and two segments within 10 s");
    assert!(
        ffmpeg_pids(&publisher.session_id).is_empty(),
        "no ffmpeg for a passthrough-only stream"
    );
    let listed = variants(&master);
    assert_eq!(listed.len(), 1, "{master}");
    assert_eq!(listed[0].0, "360p/index.m3u8");
    assert_eq!(listed[0].1, "640x360");
    // ultrafast x264 writes Constrained Baseline 3.0; the test source has AAC-LC.
    assert_eq!(listed[0].2, "avc1.42c01e,mp4a.40.2", "{master}");
    // The origin answers the live playlist from what the remuxer handed it, which is what it
    // wrote to disk.
    let served = wait_for(Duration::from_secs(5), || {
        let served = registry.live_playlist(&publisher.username, "360p")?;
        (served.bytes == read(&playlist_path).as_bytes()).then_some(served)
    })
    .await;
    assert!(
        served.is_some(),
        "the published playlist is the file's content"
    );
    let live = read(&playlist_path);
    // Rewritten in place, not replaced: a new file per version costs an inode allocation.
    let live_inode = inode(&playlist_path);
    assert!(
        live.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"),
        "{live}"
    );
    for name in segments(&live) {
        let segment = dir.join("360p").join(&name);
        assert!(name.starts_with(&publisher.session_id[..8]), "{name}");
        assert_eq!(codecs(&segment), ["h264", "aac"], "{name}");
        assert_eq!(probe_resolution(&segment), "640x360");
        assert!(decodes(&segment), "{name} decodes on its own");
    }

    let (sink, accepted) = publishing.feeding.await.expect("feeder");
    assert!(accepted > 150, "{accepted}");
    sink.finish().await;
    let ended = read(&playlist_path);
    assert!(ended.trim_end().ends_with("#EXT-X-ENDLIST"), "{ended}");
    assert_eq!(
        inode(&playlist_path),
        live_inode,
        "the playlist file was replaced"
    );
    let names: Vec<_> = std::fs::read_dir(dir.join("360p"))
        .expect("rendition folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        names
            .iter()
            .all(|name| name == "index.m3u8" || name.ends_with(".ts")),
        "{names:?}"
    );
    // Withdrawn once the rendition stopped: the ended file on disk is served from then on.
    assert!(registry
        .live_playlist(&publisher.username, "360p")
        .is_none());
    // 5 s of source with a keyframe every second: five segments of a second each (the last
    // one frame short of it, as its end is only estimated).
    let lengths = durations(&ended);
    assert_eq!(lengths.len(), 5, "{ended}");
    assert!(
        lengths.iter().all(|d| (0.95..=1.05).contains(d)),
        "{lengths:?}"
    );
    // Read back through ffmpeg's HLS demuxer, the segments are one clean stream: no timestamp
    // jumps, no corrupt pictures, no continuity errors.
    let warnings = decode_warnings(&playlist_path);
    assert!(warnings.trim().is_empty(), "{warnings}");
    assert!(!registry.is_live(&publisher.username));
}

/// Low-latency HLS on a stream without transcoded rungs (⅓ s parts): the
/// published playlist lists parts no longer than its `PART-TARGET`, a segment's parts are its
/// bytes exactly, and a player can start at an independent part (it decodes on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passthrough_only_lists_parts_that_make_up_its_segments() {
    let with_parts = |root: &Path| MediaConfig {
        hls_ladder: Vec::new(),
        hls_part_millis: 334,
        ..config(root)
    };
    let publishing = start_publishing("parts", "640x360", 5, 1, with_parts).await;
    let (dir, registry, publisher) = (&publishing.dir, &publishing.registry, &publishing.publisher);
    let user = publisher.username.clone();

    // Wait for a version with two complete segments and a part of the third.
    let mut last_seen = String::new();
    let live = wait_for(Duration::from_secs(10), || {
        let served = registry.live_playlist(&user, "360p")?;
        let text = String::from_utf8_lossy(&served.bytes).into_owned();
        last_seen.clone_from(&text);
        let after_last = text.rsplit(".ts\n").next().unwrap_or_default().to_owned();
        (segments(&text).len() >= 2 && after_last.contains("#EXT-X-PART:")).then_some(text)
    })
    .await
    .unwrap_or_else(|| panic!("a part of the segment in progress within 10 s: {last_seen}"));
    assert!(
        live.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002\n"),
        "{live}"
    );
    assert!(
        live.contains("#EXT-X-PART-INF:PART-TARGET=0.334\n"),
        "{live}"
    );
    assert_eq!(
        live.matches("#EXT-X-PROGRAM-DATE-TIME:").count(),
        segments(&live).len(),
        "every segment is dated (RFC 8216bis requires it of low-latency playlists): {live}"
    );
    let listed = parts(&live);
    assert!(
        listed.iter().all(|(duration, _, _)| *duration <= 0.334),
        "{live}"
    );
    let (_, newest, _) = listed.last().expect("parts are listed");
    let (stem, index) = newest
        .trim_end_matches(".ts")
        .rsplit_once('-')
        .expect("a part's name ends in -{index}");
    let next = format!("{stem}-{}.ts", index.parse::<u32>().expect("index") + 1);
    assert!(
        live.ends_with(&format!("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{next}\"\n")),
        "the playlist ends hinting the part after the newest: {live}"
    );
    assert_open_parts_begin_their_segment(registry, &user, "360p", &dir.join("360p"), &live).await;
    // Each complete segment whose parts are listed is its parts back to back (served, now, as
    // ranges of the segment's file: this checks the ranges).
    for segment in segments(&live) {
        assert_segment_is_its_parts(registry, &user, "360p", &dir.join("360p"), &live, &segment)
            .await;
    }
    let (_, first, _) = listed
        .iter()
        .find(|(_, _, independent)| *independent)
        .expect("independent");
    let alone = publishing.work.path().join("part.ts");
    std::fs::write(&alone, part_bytes(registry, &user, "360p", first).await).expect("write");
    assert_eq!(codecs(&alone), ["h264", "aac"]);
    assert!(decodes(&alone), "an independent part decodes on its own");

    let (sink, _) = publishing.feeding.await.expect("feeder");
    sink.finish().await;
    let ended = read(&dir.join("360p").join("index.m3u8"));
    assert!(ended.trim_end().ends_with("#EXT-X-ENDLIST"), "{ended}");
    assert!(
        !ended.contains("#EXT-X-PART"),
        "parts are for the live edge only: {ended}"
    );
    let warnings = decode_warnings(&dir.join("360p").join("index.m3u8"));
    assert!(
        warnings.trim().is_empty(),
        "PAT/PMT in every part decode cleanly: {warnings}"
    );
}

/// With transcoded rungs beside it, the native passthrough cuts where ffmpeg cuts them, so a
/// player switching renditions lands on the same instants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_passthrough_segments_line_up_with_the_transcoded_rung() {
    let work = tempfile::tempdir().expect("tempdir");
    let packets = read_packets(&make_flv(work.path(), "854x480", 30, 5));
    let root = work.path().join("hls");
    let mut config = config(&root);
    config.hls_ladder = ferrocast_ingest::adapters::media::parse_ladder("360:800").expect("ladder");
    let (transcoder, _registry, _shutdown) = transcoder(config);
    let publisher = publisher("aligned");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let (sink, _) = feed_realtime(sink, packets, 1).await;
    sink.finish().await;
    let dir = root.join(&publisher.username).join(&publisher.session_id);
    let copy = durations(&read(&dir.join("480p").join("index.m3u8")));
    let transcoded = durations(&read(&dir.join("360p").join("index.m3u8")));
    assert_eq!(copy.len(), 5, "{copy:?}");
    assert_eq!(transcoded.len(), copy.len(), "{copy:?} vs {transcoded:?}");
    // All but the last, whose end each writer estimates its own way.
    for (a, b) in copy.iter().zip(&transcoded).take(copy.len() - 1) {
        assert!((a - b).abs() < 0.05, "{copy:?} vs {transcoded:?}");
    }
}

/// A segment that slid out of the playlist stays on disk for its duration plus the playlist's
/// (RFC 8216 6.2.2), then goes: with a window of two 1 s segments, three seconds after it left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_that_left_the_playlist_stay_on_disk_for_the_rfc_period_then_go() {
    let short_window = |root: &Path| MediaConfig {
        hls_playlist_window: 2,
        ..passthrough_only(root)
    };
    let publishing = start_publishing("retired", "640x360", 9, 1, short_window).await;
    let rendition = publishing.dir.join("360p");
    let playlist_path = rendition.join("index.m3u8");
    let sequence = |text: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))?
            .trim()
            .parse()
            .ok()
    };
    // Once segment 6 is the first listed, segment 0 left 5 s ago (due out after 3 s), the one
    // before the first listed has just left and the one before that a second ago.
    let (first, listed) = wait_for(Duration::from_secs(15), || {
        let text = read(&playlist_path);
        let first = sequence(&text).filter(|first| *first >= 6)?;
        Some((first, segments(&text)))
    })
    .await
    .expect("segment 6 first listed within 15 s");
    let prefix = listed[0]
        .rsplit_once('_')
        .map(|(prefix, _)| prefix.to_owned())
        .expect("name");
    let on_disk = |n: u64| rendition.join(format!("{prefix}_{n:05}.ts")).exists();
    assert!(!on_disk(0), "segment 0 left the playlist 5 s ago");
    assert!(on_disk(first - 1), "segment {} has just left", first - 1);
    assert!(
        on_disk(first - 2),
        "segment {} left a second ago",
        first - 2
    );
    let (sink, _) = publishing.feeding.await.expect("feeder");
    sink.finish().await;
}

/// A full disk ends the natively written rendition at once, naming the cause, with the
/// segments written so far still listed (closing the playlist may itself fail for lack of
/// space: the folder is removed at cleanup either way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_fails_the_native_passthrough_naming_no_space() {
    let Some(ended) = run_until_the_disk_fills(
        "full_disk_fails_the_native_passthrough_naming_no_space",
        passthrough_only,
        Duration::from_secs(10),
    )
    .await
    else {
        return;
    };
    assert!(segments(&ended.playlist).len() >= 2, "{}", ended.playlist);
}

/// Audio that ADTS cannot carry (here MP3, which HLS players get as AAC) keeps ffmpeg for the
/// passthrough rendition: the stream still plays, with its audio re-encoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_the_ingest_cannot_remux_keeps_ffmpeg_for_the_passthrough() {
    let work = tempfile::tempdir().expect("tempdir");
    let source = work.path().join("mp3.flv");
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100"])
        .args([
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
        ])
        .args([
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            "-f",
            "flv",
        ])
        .arg(&source)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success(), "ffmpeg made the MP3 source");
    let root = work.path().join("hls");
    let (transcoder, _registry, _shutdown) = transcoder(passthrough_only(&root));
    let publisher = publisher("mp3");
    let sink = transcoder.start(&publisher).await.expect("pipeline starts");
    let feeding = tokio::spawn(feed_realtime(sink, read_packets(&source), 1));
    let playlist = variant_playlist(&root, &publisher, "360p");
    let pids = wait_for(Duration::from_secs(10), || {
        let pids = ffmpeg_pids(&publisher.session_id);
        (segments(&read(&playlist)).len() >= 2 && !pids.is_empty()).then_some(pids)
    })
    .await
    .expect("ffmpeg writes the passthrough rendition");
    assert_eq!(pids.len(), 1);
    let first = &segments(&read(&playlist))[0];
    let segment = playlist.with_file_name(first);
    assert_eq!(codecs(&segment), ["h264", "aac"]);
    assert!(decodes(&segment));
    let (sink, _) = feeding.await.expect("feeder");
    sink.finish().await;
}
