//! The VOD command lines run for real: a 4 s clip made by ffmpeg goes through probe, limits,
//! plan, the copy and rung encodes, poster and sprites, then Shaka Packager with cbcs and the key
//! in a flag file. Needs ffmpeg/ffprobe on PATH and the packager (`$PACKAGER`, or `packager` /
//! `packager-linux-x64` on PATH); without them the test says so and passes.

use std::{
    ffi::OsString,
    fs,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use ferrocast_media::{
    ladder::{parse_ladder, Encoding},
    vod::{
        self,
        argv::{self, EncodeOptions},
        master,
        package::{self, ContentKey, PackKind, PackStream, Package},
        probe::longest_keyframe_gap,
        Limits, PlanOptions, Probe,
    },
};

/// The test proves the commands work, not the picture quality: the cheapest preset.
const FAST: EncodeOptions = EncodeOptions {
    preset: "ultrafast",
    tune: "",
};

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn packager() -> Option<PathBuf> {
    std::env::var_os("PACKAGER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| on_path("packager"))
        .or_else(|| on_path("packager-linux-x64"))
}

fn run(program: &Path, args: &[OsString]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {} failed: {}",
        program.display(),
        argv::display(args),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn run_str(program: &Path, args: &[&str]) -> Output {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    run(program, &args)
}

/// ffmpeg making a test input: quiet, overwriting.
fn make(ffmpeg: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-hide_banner", "-loglevel", "error", "-y"];
    all.extend_from_slice(args);
    run_str(ffmpeg, &all)
}

fn probe(ffprobe: &Path, file: &Path) -> Probe {
    Probe::parse(&run(ffprobe, &argv::probe(file)).stdout).expect("ffprobe's report parses")
}

/// A 4 s 640×360 H.264/AAC clip with a keyframe every second, optionally turned 90° on display.
fn make_clip(ffmpeg: &Path, dir: &Path, name: &str, rotate: bool) -> PathBuf {
    let plain = dir.join(format!("{name}-plain.mp4"));
    let plain_arg = plain.to_string_lossy().into_owned();
    make(
        ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=48000",
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            &plain_arg,
        ],
    );
    if !rotate {
        return plain;
    }
    let rotated = dir.join(format!("{name}.mp4"));
    make(
        ffmpeg,
        &[
            "-i",
            &plain_arg,
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            &rotated.to_string_lossy(),
        ],
    );
    rotated
}

#[test]
fn clip_is_encoded_packaged_and_encrypted_with_the_built_commands() {
    let (Some(ffmpeg), Some(ffprobe)) = (on_path("ffmpeg"), on_path("ffprobe")) else {
        println!("skipped: ffmpeg/ffprobe not on PATH");
        return;
    };
    let Some(packager) = packager() else {
        println!("skipped: Shaka Packager not found (set PACKAGER or put packager on PATH)");
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    let source = make_clip(&ffmpeg, dir, "source", false);

    let probe = probe(&ffprobe, &source);
    let mut accepted = vod::check(&probe, &Limits::default()).expect("accepted");
    let packets = run(&ffprobe, &argv::keyframes(&source)).stdout;
    accepted.keyframe_gap = longest_keyframe_gap(&String::from_utf8_lossy(&packets));
    let gap = accepted.keyframe_gap.expect("keyframes listed");
    assert!((gap.as_secs_f64() - 1.0).abs() < 0.05, "{gap:?}");
    let options = PlanOptions {
        rungs: parse_ladder("240:400,160:250").expect("ladder"),
        ..PlanOptions::default()
    };
    let plan = vod::plan(&accepted, &options);
    assert!(plan.copy_source, "{plan:?}");
    assert_eq!(
        plan.rungs
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["360p", "160p", "240p"]
    );

    // Fast start: the copy and the audio, then every rung.
    let audio = dir.join("audio.mp4");
    let mut videos = Vec::new();
    for rung in &plan.rungs {
        let output = dir.join(format!("{}.mp4", rung.name));
        let args = match rung.encoding {
            Encoding::Copy => argv::copy_source(&source, &plan, &output, &audio),
            Encoding::X264 { .. } => argv::encode_rung(&source, &plan, rung, &FAST, &output),
        };
        let out = run(&ffmpeg, &args);
        let progress = String::from_utf8_lossy(&out.stdout);
        let last = progress
            .lines()
            .rev()
            .find_map(|line| argv::progress_percent(line, plan.duration));
        assert_eq!(last, Some(100), "progress ends at 100 %");
        let made = probe_video(&ffprobe, &output);
        assert_eq!((made.0, made.1), (rung.width, rung.height), "{}", rung.name);
        videos.push((rung.name.clone(), output));
    }
    assert!(audio.is_file());

    // Poster and sprites.
    let poster = dir.join("poster.jpg");
    run(&ffmpeg, &argv::poster(&source, &plan, &poster));
    assert!(fs::metadata(&poster).expect("poster").len() > 1000);
    let thumbs = dir.join("thumbs");
    fs::create_dir(&thumbs).expect("thumbs dir");
    let smallest = &videos[1].1;
    run(&ffmpeg, &argv::sprites(smallest, &plan, &thumbs));
    assert!(thumbs.join(argv::sprite_name(0)).is_file());
    let vtt = argv::thumbnails_vtt(&plan.thumbnails, plan.duration, argv::sprite_name);
    assert!(vtt.contains("sprite_0.jpg#xywh=160,0,160,90"), "{vtt}");

    // Packaging with the key in a 0600 flag file.
    let key = ContentKey::new([0x11; 16], [0x22; 16], [0x33; 16]);
    let flagfile = dir.join("keys.flags");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&flagfile)
        .and_then(|mut f| std::io::Write::write_all(&mut f, key.flagfile().as_bytes()))
        .expect("flag file");
    assert_eq!(
        fs::metadata(&flagfile).expect("meta").permissions().mode() & 0o777,
        0o600
    );
    let out = dir.join("out");
    let mut streams = vec![PackStream {
        kind: PackKind::Audio,
        input: &audio,
        name: "audio",
    }];
    streams.extend(videos.iter().map(|(name, path)| PackStream {
        kind: PackKind::Video,
        input: path,
        name,
    }));
    // Fast start: the copy packaged alone first, into its own folder...
    let early = dir.join("early");
    let early_master = early.join("packager.m3u8");
    let copy_only = Package {
        streams: &streams[1..2],
        out_dir: &early,
        segment_seconds: plan.segment_seconds,
        hls_master: &early_master,
        mpd: None,
        key_flagfile: Some(&flagfile),
    };
    run(&packager, &copy_only.argv().expect("argv"));
    let early_rungs = master::read_packager_master(&fs::read_to_string(&early_master).expect("m"))
        .expect("early master");
    assert_eq!(early_rungs.video.len(), 1);
    assert!(!early.join("manifest.mpd").exists());

    let packager_master = out.join("packager.m3u8");
    let mpd = out.join("manifest.mpd");
    let args = Package {
        streams: &streams,
        out_dir: &out,
        segment_seconds: plan.segment_seconds,
        hls_master: &packager_master,
        mpd: Some(&mpd),
        key_flagfile: Some(&flagfile),
    }
    .argv()
    .expect("packager argv");
    assert!(!argv::display(&args).contains(&key.kid_hex()));
    run(&packager, &args);

    let mpd_text = fs::read_to_string(&mpd).expect("mpd");
    assert!(mpd_text.contains("type=\"static\""), "{mpd_text}");
    assert!(mpd_text.contains("cenc:default_KID=\"11111111-1111-1111-1111-111111111111\""));
    assert_eq!(mpd_text.matches("<Representation").count(), 4);
    // Segment URIs are relative to the manifests: no scratch path leaks into what is served.
    assert!(
        mpd_text.contains("initialization=\"240p/init.mp4\""),
        "{mpd_text}"
    );
    let scratch_path = dir.to_string_lossy().into_owned();
    assert!(!mpd_text.contains(&scratch_path));
    for name in ["audio", "360p", "240p", "160p"] {
        assert!(out.join(name).join("init.mp4").is_file(), "{name}");
        assert!(out.join(name).join("1.m4s").is_file(), "{name}");
        let playlist = fs::read_to_string(out.join(format!("{name}.m3u8"))).expect("playlist");
        let rewritten = package::clearkey_hls(&playlist, key.kid());
        assert!(
            rewritten.contains("KEYFORMAT=\"org.w3.clearkey\""),
            "{rewritten}"
        );
        assert!(!playlist.contains(&scratch_path), "{playlist}");
    }
    // ...and the full run's segments of it are byte-identical (same key and IV), so a player
    // that started on the early ones can go on with the later ones.
    for segment in ["1.m4s", "init.mp4"] {
        let early_bytes = fs::read(early.join("360p").join(segment)).expect("early");
        let full_bytes = fs::read(out.join("360p").join(segment)).expect("full");
        if segment == "init.mp4" {
            // Only the boxes' creation times (whole seconds) may differ.
            assert_eq!(early_bytes.len(), full_bytes.len());
        } else {
            assert!(early_bytes == full_bytes, "{segment} differs between runs");
        }
    }
    // Every rendition cuts its segments at the same instants.
    let segment_counts: Vec<usize> = ["audio", "360p", "240p", "160p"]
        .iter()
        .map(|name| {
            fs::read_to_string(out.join(format!("{name}.m3u8")))
                .expect("playlist")
                .matches("#EXTINF")
                .count()
        })
        .collect();
    assert_eq!(segment_counts, [2, 2, 2, 2]);

    // ffprobe reads the manifest (a real XML parser) and finds every stream.
    let mpd_probe = Probe::parse(&run(&ffprobe, &argv::probe(&mpd)).stdout);
    if let Ok(mpd_probe) = mpd_probe {
        assert!(mpd_probe.streams.len() >= 4, "{mpd_probe:?}");
    }

    // Our master from the packager's: every video rung with the audio group.
    let packaged =
        master::read_packager_master(&fs::read_to_string(&packager_master).expect("master"))
            .expect("packager master");
    assert_eq!(packaged.video.len(), 3);
    let ours = master::render(&packaged.video, packaged.audio.as_ref());
    assert_eq!(ours.matches("#EXT-X-STREAM-INF").count(), 3, "{ours}");
    assert!(ours.contains(",mp4a.40.2\""), "{ours}");

    // The segments are really encrypted: they decode with the key only.
    let joined = dir.join("joined.mp4");
    let mut bytes = fs::read(out.join("240p/init.mp4")).expect("init");
    bytes.extend(fs::read(out.join("240p/1.m4s")).expect("segment"));
    fs::write(&joined, bytes).expect("joined");
    let joined_arg = joined.to_string_lossy().into_owned();
    let key_hex = hex::encode([0x22; 16]);
    run_str(
        &ffmpeg,
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-xerror",
            "-decryption_key",
            &key_hex,
            "-i",
            &joined_arg,
            "-f",
            "null",
            "-",
        ],
    );
    let wrong = Command::new(&ffmpeg)
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-xerror",
            "-i",
            &joined_arg,
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        !wrong.status.success(),
        "without the key the pictures do not decode"
    );
}

#[test]
fn rotated_clip_is_encoded_upright_with_no_rotation_left() {
    let (Some(ffmpeg), Some(ffprobe)) = (on_path("ffmpeg"), on_path("ffprobe")) else {
        println!("skipped: ffmpeg/ffprobe not on PATH");
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let source = make_clip(&ffmpeg, scratch.path(), "rotated", true);
    let accepted = vod::check(&probe(&ffprobe, &source), &Limits::default()).expect("accepted");
    assert_eq!(accepted.display_size(), (360, 640));
    let plan = vod::plan(&accepted, &PlanOptions::default());
    assert!(!plan.copy_source);
    let top = plan.rungs.last().expect("a rung");
    assert_eq!((top.width, top.height), (360, 640));
    let output = scratch.path().join("top.mp4");
    run(
        &ffmpeg,
        &argv::encode_rung(&source, &plan, top, &FAST, &output),
    );
    let (width, height, rotation) = probe_video(&ffprobe, &output);
    assert_eq!((width, height, rotation), (360, 640, 0));
    let poster = scratch.path().join("poster.jpg");
    run(&ffmpeg, &argv::poster(&source, &plan, &poster));
    assert_eq!(probe_video(&ffprobe, &poster), (360, 640, 0));
}

/// Coded width, height and rotation of a file's video.
fn probe_video(ffprobe: &Path, file: &Path) -> (u32, u32, u16) {
    let probe = probe(ffprobe, file);
    let (_, video) = probe.video().expect("a video stream");
    (video.width, video.height, video.rotation)
}

#[test]
fn anamorphic_clip_is_encoded_with_square_pixels_at_its_shown_size() {
    let (Some(ffmpeg), Some(ffprobe)) = (on_path("ffmpeg"), on_path("ffprobe")) else {
        println!("skipped: ffmpeg/ffprobe not on PATH");
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let source = scratch.path().join("pal.mp4");
    make(
        &ffmpeg,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=720x576:rate=25",
            "-t",
            "1",
            "-vf",
            "setsar=64/45",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            &source.to_string_lossy(),
        ],
    );
    let accepted = vod::check(&probe(&ffprobe, &source), &Limits::default()).expect("accepted");
    assert_eq!(accepted.display_size(), (1024, 576));
    let plan = vod::plan(&accepted, &PlanOptions::default());
    let top = plan.rungs.last().expect("a rung");
    let output = scratch.path().join("top.mp4");
    run(
        &ffmpeg,
        &argv::encode_rung(&source, &plan, top, &FAST, &output),
    );
    let made = probe(&ffprobe, &output);
    let (_, video) = made.video().expect("video");
    assert_eq!((video.width, video.height, video.sar), (1024, 576, None));
}
