//! The ffmpeg command line of one pipeline, built as an argv list (never through a shell).
//!
//! It carries no secret: input is FLV on stdin, outputs are named by username, session id and
//! rendition. Encoder options are given per output stream (`-b:v:1`, `-profile:v:1`...), because
//! a bare `-profile:v high` also hits the copied stream and makes ffmpeg fail (MEDIA-NOTES pitfall
//! 4). Transcoded rungs take their keyframes from the source (`-force_key_frames source`, no scene
//! cuts) so every rendition cuts segments at the same instants (pitfall 1).

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

use super::{max_kbps, Encoding, Variant};

/// What to do with the source audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioPlan {
    None,
    /// AAC already: copied into every rendition.
    Copy,
    /// Anything else is re-encoded to AAC-LC at this rate.
    Aac {
        kbps: u32,
    },
}

/// Where ffmpeg writes the rungs.
#[derive(Debug, Clone, Copy)]
pub enum Outputs<'a> {
    /// Its HLS muxer writes every rung's segments and playlist. A restart after a crash appends
    /// to the existing playlists behind a discontinuity.
    Hls { restart: bool },
    /// Each rung as FLV into the FIFO at the same index, for the caller to read back and segment. Input
    /// timestamps are kept (`-copyts`), so the rungs run on the passthrough's clock.
    Flv(&'a [PathBuf]),
}

/// Everything the command line depends on.
#[derive(Debug, Clone)]
pub struct Command<'a> {
    pub variants: &'a [Variant],
    pub audio: AudioPlan,
    /// The session folder; with [`Outputs::Hls`] renditions go to `{out_dir}/{name}/`.
    pub out_dir: &'a Path,
    /// Makes segment names unique per session, so `immutable` caching is safe across sessions.
    pub segment_prefix: &'a str,
    pub segment_seconds: u32,
    pub playlist_window: u32,
    pub preset: &'a str,
    /// x264 `-tune` of the transcoded rungs; empty for none.
    pub tune: &'a str,
    pub outputs: Outputs<'a>,
}

impl Command<'_> {
    pub fn argv(&self) -> Vec<OsString> {
        let mut args = Args::default();
        args.push(&["-hide_banner", "-loglevel", "warning", "-nostats"]);
        if let Outputs::Flv(_) = self.outputs {
            // `-y`: the FIFOs exist already, and ffmpeg would otherwise ask on stdin (our FLV).
            args.push(&["-y", "-copyts"]);
        }
        // FLV has no header listing its streams, so ffmpeg probes the input; its default 5 s
        // of probing delays the first segment by 5 s. Codec headers come first (we start at a
        // keyframe after them), so one second is plenty.
        args.push(&["-analyzeduration", "1000000", "-f", "flv", "-i", "pipe:0"]);
        match self.outputs {
            Outputs::Hls { restart } => self.hls_output(&mut args, restart),
            Outputs::Flv(paths) => {
                for (variant, path) in self.variants.iter().zip(paths) {
                    self.flv_output(&mut args, variant, path);
                }
            }
        }
        args.0
    }

    /// One output holding every rung, cut by ffmpeg's HLS muxer.
    fn hls_output(&self, args: &mut Args, restart: bool) {
        for _ in self.variants {
            self.map_streams(args);
        }
        for (index, variant) in self.variants.iter().enumerate() {
            self.video_options(args, variant, index);
        }
        self.audio_options(args);
        let mut flags = String::from("delete_segments+independent_segments+temp_file");
        if restart {
            flags.push_str("+append_list+discont_start");
        }
        let segment_seconds = self.segment_seconds.to_string();
        let window = self.playlist_window.to_string();
        // ffmpeg keeps a segment that left the playlist for its own duration plus the
        // playlist's (RFC 8216 6.2.2, as the native window does) but never more than this many
        // segments: twice the window, so that its rule, not the cap, decides.
        let kept_after_window = self
            .playlist_window
            .saturating_mul(2)
            .saturating_add(1)
            .to_string();
        args.push(&[
            "-f",
            "hls",
            "-hls_time",
            &segment_seconds,
            "-hls_list_size",
            &window,
            "-hls_delete_threshold",
            &kept_after_window,
            "-hls_flags",
            &flags,
            "-hls_segment_type",
            "mpegts",
        ]);
        let map = self
            .variants
            .iter()
            .enumerate()
            .map(|(index, variant)| match self.audio {
                AudioPlan::None => format!("v:{index},name:{}", variant.name),
                _ => format!("v:{index},a:{index},name:{}", variant.name),
            })
            .collect::<Vec<_>>()
            .join(" ");
        args.push(&["-var_stream_map", &map, "-hls_segment_filename"]);
        args.0.push(
            self.out_dir
                .join("%v")
                .join(format!("{}_%05d.ts", self.segment_prefix))
                .into_os_string(),
        );
        args.0
            .push(self.out_dir.join("%v").join("index.m3u8").into_os_string());
    }

    /// One output per rung: FLV written packet by packet (`-flush_packets`), never sought back
    /// into (a FIFO cannot seek).
    fn flv_output(&self, args: &mut Args, variant: &Variant, path: &Path) {
        self.map_streams(args);
        self.video_options(args, variant, 0);
        self.audio_options(args);
        args.push(&[
            "-flush_packets",
            "1",
            "-flvflags",
            "no_duration_filesize",
            "-f",
            "flv",
        ]);
        args.0.push(path.as_os_str().to_owned());
    }

    fn map_streams(&self, args: &mut Args) {
        args.push(&["-map", "0:v:0"]);
        if self.audio != AudioPlan::None {
            args.push(&["-map", "0:a:0"]);
        }
    }

    /// The encoder options of `variant`, the output's video stream number `index`.
    fn video_options(&self, args: &mut Args, variant: &Variant, index: usize) {
        match variant.encoding {
            Encoding::Copy => args.push(&[&format!("-c:v:{index}"), "copy"]),
            Encoding::X264 { video_kbps } => {
                let scale = format!("scale={}:{}", variant.width, variant.height);
                let options = X264 {
                    preset: self.preset,
                    tune: self.tune,
                    filter: &scale,
                    force_key_frames: "source",
                };
                options.push(args, index, video_kbps);
            }
        }
    }

    /// Audio options of an output; the muxing queue is per output too.
    fn audio_options(&self, args: &mut Args) {
        match self.audio {
            AudioPlan::None => {}
            AudioPlan::Copy => args.push(&["-c:a", "copy"]),
            AudioPlan::Aac { kbps } => {
                let rate = format!("{kbps}k");
                args.push(&["-c:a", "aac", "-b:a", &rate, "-ac", "2"]);
            }
        }
        // Encoders buffer frames (lookahead) while copied packets keep coming.
        args.push(&["-max_muxing_queue_size", "4096"]);
    }
}

/// How an x264 rung is encoded, live or from a file: every option qualified by the output's
/// video stream index, high profile, 8-bit 4:2:0, capped rate, keyframes where all rungs put them
/// and none at scene cuts.
pub(crate) struct X264<'a> {
    pub preset: &'a str,
    /// `-tune`; empty for none.
    pub tune: &'a str,
    /// The video filter chain, starting with the scaler.
    pub filter: &'a str,
    /// `source`, or an `expr:` the rungs share.
    pub force_key_frames: &'a str,
}

impl X264<'_> {
    pub(crate) fn push(&self, args: &mut Args, index: usize, video_kbps: u32) {
        let stream = |option: &str| format!("-{option}:v:{index}");
        let rate = format!("{video_kbps}k");
        let max = format!("{}k", max_kbps(video_kbps));
        let buffer = format!("{}k", video_kbps.saturating_mul(2));
        args.push(&[
            &stream("c"),
            "libx264",
            &stream("filter"),
            self.filter,
            &stream("preset"),
            self.preset,
            &stream("profile"),
            "high",
            &stream("pix_fmt"),
            "yuv420p",
            &stream("b"),
            &rate,
            &stream("maxrate"),
            &max,
            &stream("bufsize"),
            &buffer,
            &stream("force_key_frames"),
            self.force_key_frames,
            &stream("sc_threshold"),
            "0",
        ]);
        if !self.tune.is_empty() {
            args.push(&[&stream("tune"), self.tune]);
        }
    }
}

/// An argv under construction.
#[derive(Default)]
pub(crate) struct Args(pub(crate) Vec<OsString>);

impl Args {
    pub(crate) fn push(&mut self, items: &[&str]) {
        self.0.extend(items.iter().map(OsString::from));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ladder::{parse_ladder, plan, DEFAULT_LADDER};

    fn argv(audio: AudioPlan, restart: bool) -> Vec<String> {
        let variants = plan(1280, 720, &parse_ladder(DEFAULT_LADDER).expect("valid"));
        argv_of(&variants, audio, Outputs::Hls { restart })
    }

    /// The argv for `variants` of a 720p source's session `0123abcd`, as strings.
    fn argv_of(variants: &[Variant], audio: AudioPlan, outputs: Outputs) -> Vec<String> {
        let argv = Command {
            variants,
            audio,
            out_dir: Path::new("/hls/alice/0123abcd"),
            segment_prefix: "0123abcd",
            segment_seconds: 1,
            playlist_window: 6,
            preset: "veryfast",
            tune: "zerolatency",
            outputs,
        }
        .argv();
        strings(argv)
    }

    /// An argv as strings, to compare.
    pub(crate) fn strings(argv: Vec<OsString>) -> Vec<String> {
        argv.into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// Every value given to `flag`, in order.
    pub(crate) fn after<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].as_str())
            .collect()
    }

    #[test]
    fn reads_flv_from_stdin_and_writes_under_the_session_folder() {
        let args = argv(AudioPlan::Copy, false);
        assert_eq!(after(&args, "-i"), ["pipe:0"]);
        assert_eq!(after(&args, "-analyzeduration"), ["1000000"]);
        assert_eq!(after(&args, "-f"), ["flv", "hls"]);
        assert_eq!(
            args.last().map(String::as_str),
            Some("/hls/alice/0123abcd/%v/index.m3u8")
        );
        assert_eq!(
            after(&args, "-hls_segment_filename"),
            ["/hls/alice/0123abcd/%v/0123abcd_%05d.ts"]
        );
        assert_eq!(
            after(&args, "-var_stream_map"),
            ["v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p"]
        );
    }

    #[test]
    fn encoder_options_are_per_output_stream() {
        let args = argv(AudioPlan::Copy, false);
        assert_eq!(after(&args, "-c:v:0"), ["copy"]);
        assert_eq!(after(&args, "-c:v:1"), ["libx264"]);
        assert_eq!(after(&args, "-filter:v:1"), ["scale=854:480"]);
        assert_eq!(after(&args, "-b:v:2"), ["800k"]);
        assert_eq!(after(&args, "-maxrate:v:2"), ["880k"]);
        assert_eq!(after(&args, "-profile:v:1"), ["high"]);
        assert_eq!(after(&args, "-force_key_frames:v:1"), ["source"]);
        assert_eq!(after(&args, "-sc_threshold:v:2"), ["0"]);
        assert_eq!(after(&args, "-tune:v:1"), ["zerolatency"]);
        assert!(
            after(&args, "-tune:v:0").is_empty(),
            "the copy rung is not encoded"
        );
        // Nothing unqualified that would also apply to the copied stream.
        for bare in [
            "-profile:v",
            "-b:v",
            "-preset",
            "-tune",
            "-c:v",
            "-force_key_frames",
        ] {
            assert!(!args.iter().any(|a| a == bare), "{bare}");
        }
        assert!(after(&args, "-c:v:0").len() == 1 && after(&args, "-b:v:0").is_empty());
    }

    #[test]
    fn audio_is_copied_reencoded_or_left_out() {
        assert_eq!(after(&argv(AudioPlan::Copy, false), "-c:a"), ["copy"]);
        let aac = argv(AudioPlan::Aac { kbps: 128 }, false);
        assert_eq!(after(&aac, "-c:a"), ["aac"]);
        assert_eq!(after(&aac, "-b:a"), ["128k"]);
        let silent = argv(AudioPlan::None, false);
        assert!(after(&silent, "-map").iter().all(|m| *m == "0:v:0"));
        assert_eq!(
            after(&silent, "-var_stream_map"),
            ["v:0,name:720p v:1,name:480p v:2,name:360p"]
        );
    }

    #[test]
    fn restart_appends_behind_a_discontinuity() {
        assert_eq!(
            after(&argv(AudioPlan::Copy, false), "-hls_flags"),
            ["delete_segments+independent_segments+temp_file"]
        );
        assert_eq!(
            after(&argv(AudioPlan::Copy, true), "-hls_flags"),
            ["delete_segments+independent_segments+temp_file+append_list+discont_start"]
        );
    }

    #[test]
    fn flv_outputs_write_each_rung_to_its_fifo_on_the_source_clock() {
        let variants = plan(1280, 720, &parse_ladder(DEFAULT_LADDER).expect("valid"));
        let fifos = [
            PathBuf::from("/hls/alice/0123abcd/.relay/480p-1.flv"),
            PathBuf::from("/hls/alice/0123abcd/.relay/360p-1.flv"),
        ];
        let args = argv_of(&variants[1..], AudioPlan::Copy, Outputs::Flv(&fifos));
        let input = args.iter().position(|a| a == "-i").expect("input");
        for global in ["-y", "-copyts"] {
            let at = args.iter().position(|a| a == global).expect(global);
            assert!(at < input, "{global} comes before the input");
        }
        assert_eq!(after(&args, "-f"), ["flv", "flv", "flv"]);
        assert_eq!(after(&args, "-c:v:0"), ["libx264", "libx264"]);
        assert_eq!(
            after(&args, "-filter:v:0"),
            ["scale=854:480", "scale=640:360"]
        );
        assert_eq!(after(&args, "-c:a"), ["copy", "copy"]);
        assert_eq!(after(&args, "-flush_packets"), ["1", "1"]);
        assert!(!args.iter().any(|a| a.starts_with("-hls")), "{args:?}");
        // Options belong to the output whose path follows them.
        let first_path = args.iter().position(|a| a.ends_with("480p-1.flv"));
        let second_map = args.iter().rposition(|a| a == "-map");
        assert!(first_path < second_map, "{args:?}");
        assert_eq!(
            args.last().map(String::as_str),
            Some("/hls/alice/0123abcd/.relay/360p-1.flv")
        );
    }

    #[test]
    fn argv_carries_nothing_but_public_names() {
        // The command is built only from the ladder, config and the session folder: no URL, no
        // key, nothing a shell would interpret.
        for arg in argv(AudioPlan::Copy, false) {
            assert!(!arg.contains("rtmp"), "{arg}");
            assert!(
                arg.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":_.,%+=/ -".contains(&b)),
                "{arg}"
            );
        }
    }
}
