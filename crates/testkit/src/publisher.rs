//! An ffmpeg publisher: a 640x360 test pattern with a sine tone, x264 ultrafast, one keyframe a
//! second, sent in real time over RTMP — what OBS would send, reproducibly.

use std::process::Stdio;

use tokio::process::{Child, Command};

/// Starts publishing to `url` (killed when dropped). stderr goes to the test's output when
/// `FERROCAST_TEST_FFMPEG_LOG` is set.
pub fn publish(url: &str) -> Child {
    publish_with(url, &[])
}

/// Like [`publish`] with extra output options (e.g. `-t 5`).
pub fn publish_with(url: &str, extra: &[&str]) -> Child {
    publish_pattern(url, "640x360", 30, extra)
}

/// Publishes as OBS does by default: 720p30, a keyframe every 2 s, AAC audio.
pub fn publish_as_obs(url: &str) -> Child {
    publish_pattern(url, "1280x720", 60, &[])
}

/// The test pattern at `size` and 30 fps with a keyframe every `gop` frames.
fn publish_pattern(url: &str, size: &str, gop: u32, extra: &[&str]) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={size}:rate=30"),
        ])
        .args(["-f", "lavfi", "-i", "sine"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            &gop.to_string(),
        ])
        .args(["-c:a", "aac"])
        .args(extra)
        .args(["-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("FERROCAST_TEST_FFMPEG_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts (Debian package ffmpeg)")
}

/// Whether the publisher is still running.
pub fn running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// A short source file for passthrough publishers: `seconds` of the test pattern, one keyframe
/// a second, encoded once so many publishers cost no encoding CPU.
pub fn make_source(dir: &std::path::Path, seconds: u32) -> std::path::PathBuf {
    let path = dir.join(format!("source_{seconds}s.flv"));
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "30"])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the source file");
    path
}

/// Publishes `source` in a loop, in real time, without re-encoding (killed when dropped).
pub fn publish_file(url: &str, source: &std::path::Path) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args(["-stream_loop", "-1", "-i"])
        .arg(source)
        .args(["-c", "copy", "-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts")
}
