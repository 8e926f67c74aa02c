//! ffmpeg (and ffprobe) command lines for a file the worker has in its scratch folder, built as
//! argv lists, never through a shell.
//!
//! **One ffmpeg per rung**, not one ffmpeg with every rung as an output. One process decodes the
//! source once for all rungs, but finishes them all together, when the largest is done; separate
//! processes let the smallest rung (done first) make the video playable while the others still
//! run, let the worker bound memory and CPU by running as many as it has cores, and let a failed
//! rung be retried alone. The price is one decode per rung, small next to an x264 encode.
//!
//! Every input is opened with `-protocol_whitelist file` and named `file:PATH`: an upload is a
//! stranger's file, and ffmpeg's HLS or concat demuxers would otherwise follow a playlist inside
//! it to other local files or URLs. Outputs carry `file:` too, so no path reads as a protocol.
//! Encoder options are shared with the live ingest ([`crate::ladder::argv`]); keyframes follow
//! the plan so every rendition cuts segments at the same instants. Rotation: ffmpeg turns the
//! pictures upright while decoding (autorotate); the outputs are written with `rotate=0` so no
//! rotation is left for a player to apply twice.

use std::{ffi::OsString, fmt::Write as _, path::Path, time::Duration};

use super::plan::{Keyframes, Rung, ThumbnailPlan, VodPlan};
use crate::ladder::{
    argv::{Args, AudioPlan, X264},
    scaled_width, Encoding,
};

/// Encoder settings that are configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions<'a> {
    /// x264 preset: `veryfast` is the speed/quality point measured on this kind of machine.
    pub preset: &'a str,
    /// x264 `-tune`; empty for none.
    pub tune: &'a str,
}

impl Default for EncodeOptions<'_> {
    fn default() -> Self {
        Self {
            preset: "veryfast",
            tune: "",
        }
    }
}

/// The widest poster: enough for a page's player, small enough to load first.
pub const POSTER_MAX_WIDTH: u32 = 1280;

/// `ffprobe` reading `input` into the JSON [`super::Probe::parse`] reads.
pub fn probe(input: &Path) -> Vec<OsString> {
    let mut args = Args::default();
    args.push(&[
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ]);
    args.0.push(file_url(input));
    args.0
}

/// How much of the video [`keyframes`] lists: enough to know how the source was encoded.
pub const KEYFRAME_PROBE_SECONDS: u32 = 60;

/// `ffprobe` listing the first minute of video packets as `PTS,FLAGS` lines, for
/// [`super::probe::longest_keyframe_gap`]. Demuxing only, no decoding: fast even for 4K.
pub fn keyframes(input: &Path) -> Vec<OsString> {
    let interval = format!("%+{KEYFRAME_PROBE_SECONDS}");
    let mut args = Args::default();
    args.push(&[
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-select_streams",
        "v:0",
        "-read_intervals",
        &interval,
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
    ]);
    args.0.push(file_url(input));
    args.0
}

/// Encodes `rung` of `plan` from `input` into the MP4 `output`: video only, progress on stdout.
pub fn encode_rung(
    input: &Path,
    plan: &VodPlan,
    rung: &Rung,
    options: &EncodeOptions,
    output: &Path,
) -> Vec<OsString> {
    let mut args = start(input, plan.duration);
    args.push(&["-map", "0:v:0", "-an", "-sn", "-dn"]);
    match rung.encoding {
        Encoding::Copy => args.push(&["-c:v:0", "copy"]),
        Encoding::X264 { video_kbps } => {
            // `setsar=1`: the rung's size already is the shown one (non-square pixels made
            // square), so its pixels must be square too.
            let mut filter = format!("scale={}:{},setsar=1", rung.width, rung.height);
            if let Some(fps) = plan.output_fps {
                let _ = write!(filter, ",fps={fps}");
            }
            let keyframes = match plan.keyframes {
                Keyframes::Source => "source".to_owned(),
                Keyframes::Every(seconds) => format!("expr:gte(t,n_forced*{seconds})"),
            };
            X264 {
                preset: options.preset,
                tune: options.tune,
                filter: &filter,
                force_key_frames: &keyframes,
            }
            .push(&mut args, 0, video_kbps);
        }
    }
    args.push(&["-metadata:s:v:0", "rotate=0"]);
    finish_mp4(&mut args, output);
    args.0
}

/// Fast start: the source's video copied into `video_output` and its audio (copied or made AAC,
/// as planned) into `audio_output`, both from one read of the file. Without audio in the plan,
/// `audio_output` is not written.
pub fn copy_source(
    input: &Path,
    plan: &VodPlan,
    video_output: &Path,
    audio_output: &Path,
) -> Vec<OsString> {
    let mut args = start(input, plan.duration);
    args.push(&["-map", "0:v:0", "-an", "-sn", "-dn", "-c:v", "copy"]);
    finish_mp4(&mut args, video_output);
    if plan.audio != AudioPlan::None {
        audio_output_options(&mut args, plan.audio);
        finish_mp4(&mut args, audio_output);
    }
    args.0
}

/// The audio alone into `output`, when the video is not copied (so no [`copy_source`] ran).
/// `None` when the plan has no audio.
pub fn audio(input: &Path, plan: &VodPlan, output: &Path) -> Option<Vec<OsString>> {
    if plan.audio == AudioPlan::None {
        return None;
    }
    let mut args = start(input, plan.duration);
    audio_output_options(&mut args, plan.audio);
    finish_mp4(&mut args, output);
    Some(args.0)
}

/// One JPEG at `plan.poster_at`, upright, at most [`POSTER_MAX_WIDTH`] wide.
pub fn poster(input: &Path, plan: &VodPlan, output: &Path) -> Vec<OsString> {
    let (width, height) = plan.display_size;
    let poster_width = width.min(POSTER_MAX_WIDTH) & !1;
    let scale = format!(
        "scale={poster_width}:{},setsar=1",
        scaled_width(height, width, poster_width)
    );
    let at = format!("{:.3}", plan.poster_at.as_secs_f64());
    let mut args = Args::default();
    args.push(&["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    // Before the input: seek by the index, not by decoding everything up to that point.
    args.push(&["-ss", &at]);
    input_args(&mut args, input);
    args.push(&[
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-frames:v",
        "1",
        "-vf",
        &scale,
        "-q:v",
        "3",
        "-update",
        "1",
    ]);
    args.0.push(file_url(output));
    args.0
}

/// The scrubbing thumbnails: one picture every `plan.thumbnails.interval`, tiled into JPEG
/// sprite sheets `{output_dir}/sprite_0.jpg`, `sprite_1.jpg`... ([`sprite_name`]).
///
/// `input` is best the smallest encoded rung when there is one: already upright, small to
/// decode, and keyframed every segment. The source works too.
pub fn sprites(input: &Path, plan: &VodPlan, output_dir: &Path) -> Vec<OsString> {
    let thumbs = &plan.thumbnails;
    let filter = format!(
        "fps=1/{},scale={}:{},setsar=1,tile={}x{}",
        thumbs.interval.as_secs().max(1),
        thumbs.width,
        thumbs.height,
        thumbs.columns,
        thumbs.rows
    );
    let mut args = start(input, plan.duration);
    args.push(&[
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        &filter,
        "-q:v",
        "5",
        "-start_number",
        "0",
    ]);
    args.0.push(file_url(&output_dir.join("sprite_%d.jpg")));
    args.0
}

/// The file name of sprite sheet `sheet`, as [`sprites`] writes it.
pub fn sprite_name(sheet: u32) -> String {
    format!("sprite_{sheet}.jpg")
}

/// The WebVTT track mapping each thumbnail's time range to its region of a sprite sheet
/// (`sprite_0.jpg#xywh=160,0,160,90`). `sheet_uri` turns a sheet number into the URI the player
/// fetches, usually relative to the VTT file: `|n| sprite_name(n)`.
pub fn thumbnails_vtt(
    thumbs: &ThumbnailPlan,
    duration: Duration,
    sheet_uri: impl Fn(u32) -> String,
) -> String {
    let mut vtt = String::from("WEBVTT\n");
    let interval = thumbs.interval.max(Duration::from_secs(1));
    let per_sheet = thumbs.columns.saturating_mul(thumbs.rows).max(1);
    let mut start = Duration::ZERO;
    let mut index: u32 = 0;
    while start < duration {
        let end = (start + interval).min(duration);
        let (sheet, tile) = (index / per_sheet, index % per_sheet);
        let (x, y) = (
            tile % thumbs.columns.max(1) * thumbs.width,
            tile / thumbs.columns.max(1) * thumbs.height,
        );
        let _ = write!(
            vtt,
            "\n{} --> {}\n{}#xywh={x},{y},{},{}\n",
            timestamp(start),
            timestamp(end),
            sheet_uri(sheet),
            thumbs.width,
            thumbs.height
        );
        start = end;
        index = index.saturating_add(1);
    }
    vtt
}

/// Reads one line of ffmpeg's `-progress` output and returns how far it got, 0–100, when the
/// line says so. `out_time_us` is the output's position (`out_time_ms` is, despite its name,
/// microseconds too); `progress=end` is 100.
pub fn progress_percent(line: &str, duration: Duration) -> Option<u8> {
    let (key, value) = line.trim().split_once('=')?;
    match key {
        "progress" if value == "end" => Some(100),
        "out_time_us" | "out_time_ms" => {
            let micros: u64 = value.parse().ok()?;
            let total = u64::try_from(duration.as_micros()).ok()?.max(1);
            Some(u8::try_from((micros.saturating_mul(100) / total).min(99)).unwrap_or(99))
        }
        _ => None,
    }
}

/// The head every file command shares: quiet, never reading stdin, overwriting a redelivered
/// job's leftovers, progress as `key=value` lines on stdout, and reading no further than the
/// probed duration (plus a second of slack): a file whose header claims 2 s but whose stream
/// runs for hours is cut where the limits were checked.
fn start(input: &Path, duration: Duration) -> Args {
    let mut args = Args::default();
    args.push(&[
        "-hide_banner",
        "-loglevel",
        "warning",
        "-nostats",
        "-nostdin",
        "-y",
        "-progress",
        "pipe:1",
    ]);
    let limit = format!("{:.3}", (duration + Duration::from_secs(1)).as_secs_f64());
    args.push(&["-t", &limit]);
    input_args(&mut args, input);
    args
}

fn input_args(args: &mut Args, input: &Path) {
    args.push(&["-protocol_whitelist", "file", "-i"]);
    args.0.push(file_url(input));
}

fn audio_output_options(args: &mut Args, audio: AudioPlan) {
    args.push(&["-map", "0:a:0", "-vn", "-sn", "-dn"]);
    match audio {
        AudioPlan::None | AudioPlan::Copy => args.push(&["-c:a", "copy"]),
        AudioPlan::Aac { kbps } => {
            let rate = format!("{kbps}k");
            args.push(&["-c:a", "aac", "-b:a", &rate, "-ac", "2"]);
        }
    }
}

/// A plain (not fragmented) MP4: Shaka Packager reads it whole, and it is complete only when
/// ffmpeg wrote its index at the end, so a killed encode leaves no file that looks done.
fn finish_mp4(args: &mut Args, output: &Path) {
    args.push(&["-f", "mp4"]);
    args.0.push(file_url(output));
}

/// `file:PATH`: ffmpeg takes the path as a local file whatever it looks like.
fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// `HH:MM:SS.mmm`.
fn timestamp(at: Duration) -> String {
    let millis = at.as_millis();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

/// An argv as strings, for logs and tests: it holds only paths the worker chose and options.
pub fn display(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::argv::tests::{after, strings};
    use crate::vod::{
        limits::{check, Limits},
        plan::{plan, PlanOptions},
        probe::tests::fixture,
    };

    fn plan_of(name: &str) -> VodPlan {
        let source = check(&fixture(name), &Limits::default()).expect("accepted");
        plan(&source, &PlanOptions::default())
    }

    fn rung_argv(plan: &VodPlan, index: usize) -> Vec<String> {
        strings(encode_rung(
            Path::new("/scratch/job1/source"),
            plan,
            &plan.rungs[index],
            &EncodeOptions::default(),
            Path::new("/scratch/job1/360p.mp4"),
        ))
    }

    #[test]
    fn rung_reads_the_local_file_only_and_reports_progress() {
        let plan = plan_of("h264_aac_720p");
        let args = rung_argv(&plan, 1);
        assert_eq!(after(&args, "-i"), ["file:/scratch/job1/source"]);
        let input = args.iter().position(|a| a == "-i");
        let whitelist = args.iter().position(|a| a == "-protocol_whitelist");
        assert!(whitelist < input, "{args:?}");
        assert_eq!(after(&args, "-protocol_whitelist"), ["file"]);
        assert_eq!(after(&args, "-progress"), ["pipe:1"]);
        assert!(args.iter().any(|a| a == "-nostdin"));
        assert_eq!(
            args.last().map(String::as_str),
            Some("file:/scratch/job1/360p.mp4")
        );
        assert_eq!(after(&args, "-f"), ["mp4"]);
        // Reading stops a second after the probed 2 s.
        assert_eq!(after(&args, "-t"), ["3.000"]);
        assert!(args.iter().position(|a| a == "-t") < input);
    }

    #[test]
    fn rung_is_h264_8_bit_with_the_live_encoder_options() {
        let plan = plan_of("h264_aac_720p");
        let args = rung_argv(&plan, 1);
        assert_eq!(plan.rungs[1].name, "360p");
        assert_eq!(after(&args, "-c:v:0"), ["libx264"]);
        assert_eq!(after(&args, "-filter:v:0"), ["scale=640:360,setsar=1"]);
        assert_eq!(after(&args, "-pix_fmt:v:0"), ["yuv420p"]);
        assert_eq!(after(&args, "-profile:v:0"), ["high"]);
        assert_eq!(after(&args, "-preset:v:0"), ["veryfast"]);
        assert_eq!(after(&args, "-b:v:0"), ["800k"]);
        assert_eq!(after(&args, "-maxrate:v:0"), ["880k"]);
        // With a copied source, keyframes follow the copy's.
        assert_eq!(after(&args, "-force_key_frames:v:0"), ["source"]);
        assert_eq!(after(&args, "-sc_threshold:v:0"), ["0"]);
        assert!(args.iter().any(|a| a == "-an"));
        assert_eq!(after(&args, "-metadata:s:v:0"), ["rotate=0"]);
    }

    #[test]
    fn transcoded_sources_get_clock_keyframes_and_a_constant_rate() {
        let hevc = plan_of("hevc_10bit");
        let args = rung_argv(&hevc, 2);
        assert_eq!(
            after(&args, "-force_key_frames:v:0"),
            ["expr:gte(t,n_forced*2)"]
        );
        assert_eq!(after(&args, "-filter:v:0"), ["scale=1280:720,setsar=1"]);
        let vfr = plan_of("vfr");
        let args = rung_argv(&vfr, 0);
        assert_eq!(
            after(&args, "-filter:v:0"),
            ["scale=640:360,setsar=1,fps=24"]
        );
    }

    #[test]
    fn rotated_source_is_scaled_to_its_upright_shape() {
        let plan = plan_of("rotated_90");
        let args = rung_argv(&plan, 0);
        // Autorotate is on (never `-noautorotate`), so the scaler sees the upright picture.
        assert!(!args.iter().any(|a| a == "-noautorotate"));
        assert_eq!(after(&args, "-filter:v:0"), ["scale=202:360,setsar=1"]);
        assert_eq!(after(&args, "-metadata:s:v:0"), ["rotate=0"]);
    }

    #[test]
    fn copy_writes_video_and_audio_as_separate_mp4s() {
        let plan = plan_of("h264_aac_720p");
        let args = strings(copy_source(
            Path::new("/s/in"),
            &plan,
            Path::new("/s/720p.mp4"),
            Path::new("/s/audio.mp4"),
        ));
        assert_eq!(after(&args, "-map"), ["0:v:0", "0:a:0"]);
        assert_eq!(after(&args, "-c:v"), ["copy"]);
        assert_eq!(after(&args, "-c:a"), ["copy"]);
        assert!(!args.iter().any(|a| a.contains("libx264")));
        let video_out = args.iter().position(|a| a == "file:/s/720p.mp4");
        let audio_map = args.iter().position(|a| a == "0:a:0");
        assert!(video_out < audio_map, "{args:?}");
        assert_eq!(args.last().map(String::as_str), Some("file:/s/audio.mp4"));

        let silent = plan_of("video_only");
        let args = strings(copy_source(
            Path::new("/s/in"),
            &silent,
            Path::new("/s/360p.mp4"),
            Path::new("/s/audio.mp4"),
        ));
        assert!(!args.iter().any(|a| a.contains("audio")), "{args:?}");
    }

    #[test]
    fn audio_alone_is_made_aac_stereo_when_it_is_not_aac() {
        let plan = plan_of("mpeg4_mp3");
        let args = strings(audio(Path::new("/s/in"), &plan, Path::new("/s/a.mp4")).expect("audio"));
        assert_eq!(after(&args, "-c:a"), ["aac"]);
        assert_eq!(after(&args, "-b:a"), ["128k"]);
        assert_eq!(after(&args, "-ac"), ["2"]);
        assert!(args.iter().any(|a| a == "-vn"));
        assert!(audio(Path::new("/s/in"), &plan_of("vfr"), Path::new("/s/a.mp4")).is_none());
    }

    #[test]
    fn poster_is_one_upright_frame_seeked_before_the_input() {
        let plan = plan_of("rotated_90");
        let args = strings(poster(
            Path::new("/s/in"),
            &plan,
            Path::new("/s/poster.jpg"),
        ));
        let seek = args.iter().position(|a| a == "-ss");
        let input = args.iter().position(|a| a == "-i");
        assert!(seek < input);
        assert_eq!(after(&args, "-ss"), ["0.200"]);
        assert_eq!(after(&args, "-frames:v"), ["1"]);
        assert_eq!(after(&args, "-vf"), ["scale=1080:1920,setsar=1"]);
        let wide = plan_of("h264_aac_720p");
        let args = strings(poster(Path::new("/s/in"), &wide, Path::new("/s/p.jpg")));
        assert_eq!(after(&args, "-vf"), ["scale=1280:720,setsar=1"]);
        assert_eq!(args.last().map(String::as_str), Some("file:/s/p.jpg"));
    }

    #[test]
    fn sprites_tile_one_thumbnail_per_interval() {
        let plan = plan_of("h264_aac_720p");
        let args = strings(sprites(
            Path::new("/s/360p.mp4"),
            &plan,
            Path::new("/s/thumbs"),
        ));
        assert_eq!(
            after(&args, "-vf"),
            ["fps=1/1,scale=160:90,setsar=1,tile=10x10"]
        );
        assert_eq!(
            args.last().map(String::as_str),
            Some("file:/s/thumbs/sprite_%d.jpg")
        );
        assert_eq!(after(&args, "-start_number"), ["0"]);
    }

    #[test]
    fn vtt_maps_times_to_sprite_regions() {
        let thumbs = ThumbnailPlan {
            interval: Duration::from_secs(5),
            width: 160,
            height: 90,
            columns: 2,
            rows: 2,
        };
        let vtt = thumbnails_vtt(&thumbs, Duration::from_millis(21_500), sprite_name);
        assert_eq!(
            vtt,
            "WEBVTT\n\
             \n00:00:00.000 --> 00:00:05.000\nsprite_0.jpg#xywh=0,0,160,90\n\
             \n00:00:05.000 --> 00:00:10.000\nsprite_0.jpg#xywh=160,0,160,90\n\
             \n00:00:10.000 --> 00:00:15.000\nsprite_0.jpg#xywh=0,90,160,90\n\
             \n00:00:15.000 --> 00:00:20.000\nsprite_0.jpg#xywh=160,90,160,90\n\
             \n00:00:20.000 --> 00:00:21.500\nsprite_1.jpg#xywh=0,0,160,90\n"
        );
        assert_eq!(timestamp(Duration::from_secs(3_723)), "01:02:03.000");
        assert_eq!(
            thumbnails_vtt(&thumbs, Duration::ZERO, sprite_name),
            "WEBVTT\n"
        );
    }

    #[test]
    fn progress_lines_become_percent() {
        let ten_seconds = Duration::from_secs(10);
        assert_eq!(
            progress_percent("out_time_us=2500000", ten_seconds),
            Some(25)
        );
        assert_eq!(
            progress_percent("out_time_ms=9999999", ten_seconds),
            Some(99)
        );
        assert_eq!(
            progress_percent("out_time_us=99000000", ten_seconds),
            Some(99)
        );
        assert_eq!(progress_percent("progress=end", ten_seconds), Some(100));
        assert_eq!(progress_percent("progress=continue", ten_seconds), None);
        assert_eq!(progress_percent("out_time_us=N/A", ten_seconds), None);
        assert_eq!(progress_percent("frame=12", ten_seconds), None);
    }

    #[test]
    fn keyframe_listing_reads_the_first_minute_of_packets() {
        let args = strings(keyframes(Path::new("/s/in")));
        assert_eq!(after(&args, "-read_intervals"), ["%+60"]);
        assert_eq!(after(&args, "-show_entries"), ["packet=pts_time,flags"]);
        assert_eq!(after(&args, "-protocol_whitelist"), ["file"]);
        assert_eq!(args.last().map(String::as_str), Some("file:/s/in"));
    }

    #[test]
    fn probe_reads_only_local_files() {
        let args = strings(probe(Path::new("/s/in")));
        assert_eq!(after(&args, "-protocol_whitelist"), ["file"]);
        assert_eq!(args.last().map(String::as_str), Some("file:/s/in"));
        assert!(args.iter().any(|a| a == "-show_streams"));
    }
}
