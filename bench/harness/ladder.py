"""The ABR ladder as ffmpeg arguments, for the places the bench transcodes itself: nginx-rtmp's
exec_push and the per-preset ladder cost.

It mirrors ferrocast's ingest (crates/media/src/ladder/mod.rs: plan(), argv.rs:
Command::argv()) encoder option for encoder option; the input differs (the ingest feeds FLV on
stdin, nginx-rtmp's child reads the stream back over RTMP) and so does the output: the ingest
remuxes the copied rung itself and has ffmpeg write each x264 rung as FLV into a FIFO, which the
ingest cuts into segments and parts (argv.rs `Outputs::Flv`); nginx-rtmp has no way to put its
own `hls on` output into a ladder, so its ffmpeg writes every rung, the copied one included
(`copy_rung=True`, `-c:v copy`, next to no CPU), through ffmpeg's HLS muxer. At run time the
bench reads the argv of the ingest's live ffmpeg from /proc and reports any difference in the
x264 rungs' options (`diff_with`).
"""

from __future__ import annotations

import re

# crates/media/src/ladder/mod.rs DEFAULT_LADDER = "1080:6000,720:3000,480:1500,360:800"
DEFAULT_LADDER = [(1080, 6000), (720, 3000), (480, 1500), (360, 800)]
DEFAULT_PRESET = "veryfast"  # media/config.rs default_preset()
DEFAULT_TUNE = "zerolatency"  # media/config.rs default_tune()
DEFAULT_WINDOW = 6  # media/config.rs default_playlist_window()
DEFAULT_SEGMENT = 1  # media/config.rs default_segment_seconds()
INGEST_INPUT = ["-analyzeduration", "1000000", "-f", "flv"]  # argv.rs, before `-i pipe:0`


def scaled_width(width: int, height: int, target: int) -> int:
    return max(2, ((target * width + height) // (2 * height)) * 2)


def plan(width: int, height: int, rungs=DEFAULT_LADDER) -> list[tuple[str, int, int, int | None]]:
    """[(name, width, height, kbps or None for the copied source)], as ladder::plan()."""
    out: list[tuple[str, int, int, int | None]] = [(f"{height}p", width, height, None)]
    lower = sorted({h: k for h, k in rungs if h < height}.items(), key=lambda r: -r[0])
    out += [(f"{h}p", scaled_width(width, height, h), h, k) for h, k in lower]
    return out


def ladder_args(input_args: list[str], out_dir: str, segment_seconds: int, window: int,
                preset: str = DEFAULT_PRESET, width: int = 1280, height: int = 720,
                rungs=DEFAULT_LADDER, segment_prefix: str = "seg", master: bool = False,
                tune: str = DEFAULT_TUNE, copy_rung: bool = True) -> list[str]:
    """ffmpeg argv (without 'ffmpeg') for a source with AAC audio (copied, as the ingest does).
    `master`: let ffmpeg write master.m3u8 (nginx-rtmp has nothing else that would; the ingest
    writes its own, with CODECS for the copied rung). `copy_rung=False`: only the x264 rungs, as
    the ingest runs ffmpeg since it remuxes the copied rung itself."""
    variants = plan(width, height, rungs)
    if not copy_rung:
        variants = variants[1:]
    args = ["-hide_banner", "-loglevel", "warning", "-nostats"] + input_args
    for _ in variants:
        args += ["-map", "0:v:0", "-map", "0:a:0"]
    for i, (_name, w, h, kbps) in enumerate(variants):
        if kbps is None:
            args += [f"-c:v:{i}", "copy"]
        else:
            args += [f"-c:v:{i}", "libx264", f"-filter:v:{i}", f"scale={w}:{h}", f"-preset:v:{i}", preset,
                     f"-profile:v:{i}", "high", f"-pix_fmt:v:{i}", "yuv420p", f"-b:v:{i}", f"{kbps}k",
                     f"-maxrate:v:{i}", f"{kbps * 11 // 10}k", f"-bufsize:v:{i}", f"{kbps * 2}k",
                     f"-force_key_frames:v:{i}", "source", f"-sc_threshold:v:{i}", "0"]
            if tune:
                args += [f"-tune:v:{i}", tune]
    args += ["-c:a", "copy", "-max_muxing_queue_size", "4096",
             "-f", "hls", "-hls_time", str(segment_seconds), "-hls_list_size", str(window),
             "-hls_delete_threshold", str(2 * window + 1), "-hls_flags", "delete_segments+independent_segments+temp_file",
             "-hls_segment_type", "mpegts"]
    if master:
        args += ["-master_pl_name", "master.m3u8"]
    args += [
             "-var_stream_map", " ".join(f"v:{i},a:{i},name:{v[0]}" for i, v in enumerate(variants)),
             "-hls_segment_filename", f"{out_dir}/%v/{segment_prefix}_%05d.ts", f"{out_dir}/%v/index.m3u8"]
    return args


def describe(rungs=DEFAULT_LADDER, preset: str = DEFAULT_PRESET) -> str:
    v = plan(1280, 720, rungs)
    parts = [f"{n} copy" if k is None else f"{n} {k} kb/s" for n, _, _, k in v]
    return " + ".join(parts) + f" (x264 {preset}, High, keyframes at the source's)"


def _x264_rungs(argv: list[str]) -> list[dict[str, str]]:
    """Each x264 rung's encoder options in order, stream indexes dropped (`-b:v:2 800k` and, in
    an output of its own, `-b:v:0 800k` are the same option), plus the audio codec(s) and muxing
    queue under the key "". Input and output paths do not enter."""
    rungs: list[dict[str, str]] = []
    shared: dict[str, str] = {}
    current: dict[str, str] | None = None
    for option, value in zip(argv, argv[1:]):
        m = re.fullmatch(r"-([a-z_]+):v:\d+", option)
        if m is None:
            if option in ("-c:a", "-max_muxing_queue_size"):
                shared[option] = value
            continue
        if m.group(1) == "c":
            current = {} if value == "libx264" else None
            if current is not None:
                rungs.append(current)
        elif current is not None:
            current[m.group(1)] = value
    return rungs + [shared]


def diff_with(ingest_argv: list[str], ours: list[str]) -> str:
    """'' when both ladders encode the same x264 rungs the same way, else a short description."""
    a, b = _x264_rungs(ingest_argv[1:]), _x264_rungs(ours)
    if a == b:
        return ""
    return f"ingest: {a}; bench: {b}"


def _session_dir(last: str) -> tuple[str, str]:
    """The session folder of an ingest argv from its last argument, and the part after it."""
    for tail in ("/%v/index.m3u8", "/.relay/"):
        if tail in last:
            return last[: last.index(tail)], tail
    raise ValueError(f"unexpected ingest argv ending {last!r}")


def from_ingest(argv: list[str], input_url: str | None, out_dir: str, master: bool = False,
                preset: str | None = None, pre_input: list[str] | None = None) -> list[str]:
    """The ingest's own ffmpeg argv (as read from /proc, without argv[0]) with only what must differ
    swapped: the input (`pipe:0` -> `input_url`), the output folder (the FIFOs of FLV outputs
    become plain files in it), optionally ffmpeg's own master playlist, the x264 preset (for the
    per-preset cost) and input options such as -re."""
    args = list(argv[1:])
    session_dir, tail = _session_dir(args[-1])
    if tail == "/.relay/":
        session_dir += "/.relay"
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-f" and i + 2 < len(args) and args[i + 2] == "-i" and pre_input:
            out += pre_input
        if a == "pipe:0" and input_url is not None:
            a = input_url
        elif a.startswith(session_dir + "/"):
            a = out_dir + a[len(session_dir):]
        elif preset and i > 0 and args[i - 1].startswith("-preset:v:"):
            a = preset
        if a == "-var_stream_map" and master:
            out += ["-master_pl_name", "master.m3u8"]
        out.append(a)
        i += 1
    return out
