//! Real media files for tests, made by ffmpeg from its test sources.

use std::process::Command;

/// A `seconds` long 640×360 30 fps H.264/AAC MP4, a keyframe every second: what a phone or an
/// editor exports, so the VOD worker copies it (fast start) and encodes smaller rungs.
pub fn mp4(seconds: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("clip.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "30"])
        .args([
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made no clip");
    std::fs::read(&path).expect("clip")
}
