"""Section 13, live thumbnails: what one live stream's thumbnails cost, against what the same stream
costs to transcode, both measured on the same publish in the same window.

The stream is the bench source (720p30) on an ingest of its own with the production ladder and a
short thumbnail interval (so a window holds many thumbnails). Thumbnail ffmpegs are short-lived
children of the ingest: once reaped, their CPU lands in the ingest's cutime + cstime
(/proc/PID/stat), while the ladder's ffmpeg lives through the window and is sampled directly. The
ingest's `ingest_thumbnails_total{result="made"}` counts the thumbnails made in the window. A
thumbnail is one keyframe of the lowest rung, so its cost does not depend on the interval: the
figure at the production interval (30 s) is CPU-seconds per thumbnail ÷ 30."""

from __future__ import annotations

import re
import time
from pathlib import Path

import hls
from report import Report
from source import Publisher
from util import CLK_TCK, CpuWindow, NotMeasured, http_get, log

SECTION = "13 live thumbnails"
# The interval the measuring ingest runs with, and the production default the figure is for.
BENCH_INTERVAL_S = 2
PRODUCTION_INTERVAL_S = 30


def ingest_env() -> dict:
    return {"FERROCAST_INGEST_THUMBNAIL_INTERVAL_SECONDS": str(BENCH_INTERVAL_S)}


def _children_cpu(pid: int) -> float:
    """CPU seconds of the reaped children of `pid` (cutime + cstime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[13]) + int(fields[14])) / CLK_TCK


def _made(origin: str) -> int:
    status, body = http_get(f"{origin}/metrics")
    if status != 200:
        raise NotMeasured(f"the ingest's /metrics answered {status}")
    m = re.search(r'^ingest_thumbnails_total\{result="made"\}\s+(\d+)', body.decode(errors="replace"), re.M)
    return int(m.group(1)) if m else 0


def measure_thumbnails(rep: Report, side, src: Path, logs: Path, idx: int, window: float) -> None:
    """`side`: the bench's ferrocast (`measures.FerroSide`), or why it is not there."""
    ing = side.f.ingests.get("thumbs") if not isinstance(side, str) and side is not None else None
    if ing is None:
        rep.add(SECTION, "CPU per thumbnail", side if isinstance(side, str) else "not measured: no ferrocast", "–")
        return
    username, key = side.streamer(idx)
    pub = Publisher(src, ing.publish_url(key), logs / "pub-thumbnails.log", loop=True)
    try:
        try:
            hls.wait_playable(ing.master_url(username), time.monotonic() + 30)
        except TimeoutError:
            raise NotMeasured("the stream never became playable within 30 s") from None
        deadline = time.monotonic() + 20
        while _made(ing.origin) == 0:
            if time.monotonic() > deadline:
                raise NotMeasured("no thumbnail within 20 s of the stream being playable")
            time.sleep(0.2)
        # Between two thumbnails the ladder's ffmpeg is the ingest's only child.
        ladder = ing.ffmpeg_children()
        for _ in range(50):
            if len(ladder) == 1:
                break
            time.sleep(0.1)
            ladder = ing.ffmpeg_children()
        if len(ladder) != 1:
            raise NotMeasured(f"expected the ladder's one ffmpeg between thumbnails, saw {len(ladder)}")
        pid = ing.proc.pid
        made0, reaped0 = _made(ing.origin), _children_cpu(pid)
        with CpuWindow(lambda: ladder) as transcode:
            time.sleep(window)
        made1, reaped1 = _made(ing.origin), _children_cpu(pid)
        if not pub.alive():
            raise NotMeasured("the publisher stopped inside the window")
        n = made1 - made0
        if n <= 0:
            raise NotMeasured("no thumbnail made inside the window")
        per_thumbnail = (reaped1 - reaped0) / n
        transcode_pct = transcode.cpu_fraction * 100
        at_30s_pct = per_thumbnail / PRODUCTION_INTERVAL_S * 100
        log(f"thumbnails: {n} in {window:.0f} s, {per_thumbnail * 1000:.1f} ms CPU each; ladder {transcode_pct:.1f} %")
        rep.add(SECTION, f"CPU per thumbnail ({n} made in {window:.0f} s)", per_thumbnail, "–", "CPU-s")
        rep.add(SECTION, f"one stream's thumbnails at the {PRODUCTION_INTERVAL_S} s refresh vs its own ABR ladder",
                at_30s_pct, transcode_pct, "% of a core",
                note="the nginx-rtmp column here is ferrocast's own ladder ffmpeg for the same stream (no peer makes live thumbnails)")
    except NotMeasured as e:
        rep.add(SECTION, "CPU per thumbnail", f"not measured: {e}", "–")
    finally:
        pub.stop()
