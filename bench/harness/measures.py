"""The measurements. Each takes `Peers` (whatever could be started) and a `Sizes`, appends rows to
the report, and never raises for a peer that misbehaves: that becomes a 'not measured: why' cell.
Anything else that raises is a bug of the harness."""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import fleet
import hls
import ladder
from report import Report
from source import FPS, GOP_FRAMES, ConnectRelay, Publisher
from util import (OWNED, CpuWindow, NotMeasured, cmdline, http_get, log, machine_cpu_busy, median, pct,
                  proc_cpu_rss)

ROOT = Path(__file__).resolve().parents[2]
FRAME = 1 / 30


@dataclass
class Sizes:
    smoke: bool
    runs: int  # publish → playable repetitions
    watch: float  # seconds of segment watching per run
    play: float  # seconds of hls.js play
    player_modes: tuple[str, ...]
    player_runs: int  # fresh stream + fresh browser each; hls.js's start position varies run to run
    steps: tuple[int, ...]  # capacity ramp
    hold: float  # seconds each step must hold
    resource_ks: tuple[int, ...]
    wrk_seconds: float
    wrk_runs: int
    auth_seconds: float
    abr_seconds: float
    presets: tuple[str, ...]


# Capacity steps up to 1000: with rtmp-fleet as the publisher (≈ 0.05 % of a core per stream) the
# servers, not the publishers, reach their limit first. Steps of 50 from 200 on, where both peers
# stop on a slow host: with steps of 100 the held K of each is only known to within 100, and the
# ratio of the two (the ≥ 2 × target) anywhere between 1.7× and 3×. On a fast host ferrocast
# holds 800, so the ramp goes on to 900 and 1000 to find its limit. The CPU and memory per stream
# are read at K = 1, 10, 50.
FULL = Sizes(False, 5, 12, 20, ("ladder", "copy"), 3,
             (1, 10, 50, 100, 200, 250, 300, 350, 400, 450, 500, 550, 600, 700, 800, 900, 1000), 60, (1, 10, 50),
             5, 5, 10, 20, ("ultrafast", "superfast", "veryfast"))
SMOKE = Sizes(True, 1, 4, 5, ("ladder",), 1, (1, 2), 6, (1, 2), 2, 1, 2, 3, ("ultrafast", "superfast", "veryfast"))


class Side:
    """One peer in one mode ('copy' = passthrough, 'ladder' = default transcoding ladder)."""

    name: str

    def stream(self, mode: str, idx: int) -> tuple[str, str]:
        """(publish URL, master or media playlist URL) for stream number idx."""
        raise NotImplementedError

    def server_pids(self, mode: str) -> list[int]:
        raise NotImplementedError

    def child_pids(self, mode: str) -> list[int]:
        raise NotImplementedError

    def rtmp_port(self, mode: str) -> int:
        raise NotImplementedError


class NginxSide(Side):
    def __init__(self, n) -> None:
        self.n = n
        self.name = n.name
        self.counter = 0

    def stream(self, mode, idx):
        app = "live" if mode == "copy" else "ladder"
        name = f"s{idx}"
        return self.n.publish_url(app, name), self.n.playlist_url(app, name)

    def server_pids(self, mode):
        return self.n.worker_pids()

    def child_pids(self, mode):
        return self.n.ladder_children()

    def rtmp_port(self, mode):
        return self.n.rtmp_port


class FerroSide(Side):
    name = "ferrocast"

    def __init__(self, f) -> None:
        self.f = f
        self.assigned: dict[int, tuple[str, str]] = {}  # stream number -> (username, key)

    def streamer(self, idx: int) -> tuple[str, str]:
        """A streamer used by no other stream number of this run (signed up on demand)."""
        if idx not in self.assigned:
            n = len(self.assigned)
            self.f.make_streamers(n + 1)
            self.assigned[idx] = self.f.users[n]
        return self.assigned[idx]

    def stream(self, mode, idx):
        ing = self.f.ingests[mode]
        username, key = self.streamer(idx)
        return ing.publish_url(key), ing.master_url(username)

    def server_pids(self, mode):
        return [self.f.ingests[mode].proc.pid]

    def child_pids(self, mode):
        return self.f.ingests[mode].ffmpeg_children()

    def rtmp_port(self, mode):
        return self.f.ingests[mode].rtmp_port


def with_port(url: str, port: int) -> str:
    return re.sub(r"rtmp://127\.0\.0\.1:\d+/", f"rtmp://127.0.0.1:{port}/", url)


class Streams:
    """Stream numbering: every publish in a run gets a stream number never used before, so no
    playlist of an earlier session can be mistaken for the new one."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, n: int = 1) -> list[int]:
        out = list(range(self.next, self.next + n))
        self.next += n
        return out


# ============================================================== the ingest's ladder argv

def probe_ingest_argv(side: "FerroSide", src: Path, logs: Path, streams: Streams) -> list[str] | None:
    """Publishes once to the ferrocast ladder ingest and reads its ffmpeg child's argv from /proc,
    so nginx-rtmp's exec_push and the per-preset cost run exactly that command line."""
    idx = streams.take()[0]
    url, playlist = side.stream("ladder", idx)
    pub = Publisher(src, url, logs / "pub-probe.log")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and pub.alive():
            for pid in side.child_pids("ladder"):
                argv = cmdline(pid)
                # ffmpeg's HLS muxer (`%v`), or each rung as FLV into the ingest's FIFOs.
                if argv and (argv[-1].endswith("/%v/index.m3u8") or "/.relay/" in argv[-1]):
                    return argv
            time.sleep(0.1)
        return None
    finally:
        pub.stop()


# ============================================================== 1 + 2a: publish → playable, segments

def publish_runs(side: Side, mode: str, idx: int, src: Path, logs: Path, watch: float, measure_cpu: bool):
    """One publish: returns dict(playable=s, avail=[s...], cpu=...)."""
    url, playlist = side.stream(mode, idx)
    relay = ConnectRelay(side.rtmp_port(mode))
    pub = Publisher(src, with_port(url, relay.port), logs / f"pub-{side.name}-{mode}-{idx}.log")
    out: dict = {}
    try:
        try:
            t_play, variants = hls.wait_playable(playlist, time.monotonic() + 30)
        except TimeoutError:
            raise NotMeasured(f"{mode} stream never became playable within 30 s"
                              + ("" if pub.alive() else f" (publisher exited {pub.proc.returncode})"))
        if not relay.connects:
            raise NotMeasured("publisher never connected")
        out["playable"] = t_play - relay.connects[0]
        out["variants"] = len(variants)
        watchers = [hls.SegmentWatcher(v).start() for v in variants]
        if measure_cpu:
            with CpuWindow(lambda: side.server_pids(mode)) as srv, CpuWindow(lambda: side.child_pids(mode)) as ch:
                time.sleep(watch)
            out["cpu"] = (srv.cpu_fraction, srv.rss_total, ch.cpu_fraction, ch.rss_total, ch.nprocs)
        else:
            time.sleep(watch)
        for w in watchers:
            w.stop()
        if pub.t0 is None:
            raise NotMeasured("publisher reported no progress")
        avail = []
        for w in watchers:
            lat = w.availability_latencies(pub.t0, FRAME)
            # The first segment is listed as soon as the stream is playable: that is figure 1.
            avail += lat[1:]
        out["avail"] = avail
        if side.name == "ferrocast" and mode == "ladder":
            kids = side.child_pids(mode)
            if kids:
                out["argv"] = cmdline(kids[0])
        return out
    finally:
        pub.stop()
        relay.close()


def measure_publish(rep: Report, sides: dict[str, Side | str], sz: Sizes, src: Path, logs: Path,
                    streams: Streams, seg: int, latency_cache: dict) -> None:
    for mode, label in (("copy", "passthrough"), ("ladder", "ABR ladder")):
        res: dict[str, dict] = {}
        for run in range(sz.runs):
            order = list(sides) if run % 2 == 0 else list(reversed(list(sides)))
            for name in order:
                side = sides[name]
                r = res.setdefault(name, {"playable": [], "avail": [], "err": None, "cpu": None})
                if isinstance(side, str):
                    r["err"] = side
                    continue
                if r["err"]:
                    continue
                idx = streams.take()[0]
                log(f"publish→playable {name} {mode} run {run + 1}/{sz.runs}")
                try:
                    o = publish_runs(side, mode, idx, src, logs, sz.watch, measure_cpu=(mode == "ladder" and run == 0))
                except NotMeasured as e:
                    r["err"] = f"not measured: {e}"
                    continue
                r["playable"].append(o["playable"])
                r["avail"] += o["avail"]
                if "cpu" in o:
                    r["cpu"] = o["cpu"]
                if "argv" in o:
                    latency_cache["ingest_argv"] = o["argv"]
        f, n = res.get("ferrocast", {}), res.get("nginx-rtmp", {})

        def val(r, fn):
            if not r:
                return None
            if r.get("err") and not r.get("playable"):
                return r["err"]
            return fn(r)

        fm = val(f, lambda r: median(r["playable"]))
        nm = val(n, lambda r: median(r["playable"]))
        met = None
        if isinstance(fm, float) and isinstance(nm, float):
            met = fm <= nm and fm <= 1.5 * seg
        rep.add("1 publish → playable", f"{label}: median of {sz.runs}", fm, nm, "s",
                target=f"≤ nginx and ≤ {1.5 * seg:g} s", met=met)
        rep.add("1 publish → playable", f"{label}: max", val(f, lambda r: max(r["playable"])),
                val(n, lambda r: max(r["playable"])), "s")
        fa = val(f, lambda r: median(r["avail"]) if r["avail"] else "no segments seen")
        na = val(n, lambda r: median(r["avail"]) if r["avail"] else "no segments seen")
        latency_cache[("avail", "ferrocast", mode)] = fa
        latency_cache[("avail", "nginx-rtmp", mode)] = na
        rep.add("2 live latency", f"{label}: segment listed − its last frame sent, median", fa, na, "s")
        rep.add("2 live latency", f"{label}: same, p95", val(f, lambda r: pct(r["avail"], 95) if r["avail"] else None),
                val(n, lambda r: pct(r["avail"], 95) if r["avail"] else None), "s")
        if mode == "ladder":
            latency_cache["ladder_cpu"] = {k: v.get("cpu") for k, v in res.items()}


# ============================================================== 2b: player latency

def frontend_hls_config(name: str = "LIVE_HLS_CONFIG") -> dict:
    """hls.js settings of ferrocast's player (frontend/src/player/config.ts), used for both peers:
    `LIVE_HLS_CONFIG` is passed to `new Hls`, `LIVE_HLS_DEFAULTS` set on `Hls.DefaultConfig`."""
    p = ROOT / "frontend" / "src" / "player" / "config.ts"
    cfg: dict = {}
    if not p.exists():
        return cfg
    body = p.read_text()
    m = re.search(name + r"[^=]*=\s*\{(.*?)\n\};", body, re.S)
    for k, v in re.findall(r"^\s*(\w+):\s*([^,\n]+),", m.group(1) if m else "", re.M):
        v = v.strip()
        if v in ("true", "false"):
            cfg[k] = v == "true"
        else:
            try:
                cfg[k] = float(v) if "." in v else int(v)
            except ValueError:
                pass
    return cfg


def player_ready() -> str | None:
    need = [ROOT / "e2e" / "node_modules" / "playwright-core", ROOT / "frontend" / "node_modules" / "hls.js",
            Path("/usr/bin/chromium")]
    missing = [str(p.relative_to(ROOT)) if str(p).startswith(str(ROOT)) else str(p) for p in need if not p.exists()]
    if not shutil.which("node"):
        missing.append("node")
    return f"not measured: missing {', '.join(missing)}" if missing else None


# MPEG-TS PTS are 33-bit at 90 kHz; hls.js may add 2^33 to initPTS when it unwraps a rollover.
PTS_WRAP = 2 ** 33 / 90_000


@dataclass
class PlayerRun:
    """One fresh stream watched by one fresh browser, over the last quarter of its play."""
    latency: float  # hls.js `hls.latency`, median
    clock: float | str  # frame sent → on screen on the wall clock, median, or 'not measured: why'


def source_start_pts(src: Path) -> float | None:
    """PTS (s) of the source's first video frame as ffmpeg sends it: ffmpeg (no -copyts) shifts
    the input so that its start_time is 0, and t0 is the wall time of that 0."""
    got = hls.first_video_pts(src)
    return got[0] - got[1] if got else None


def variant_start_pts(variants: list[str], deadline: float) -> dict[str, tuple[float, float]] | str:
    """Per variant URL: (server PTS of the stream's first source frame, segment 0's first video PTS),
    or 'not measured: why'. Started when the stream becomes playable, while segment 0 is listed."""
    out = {}
    for url in variants:
        try:
            out[url] = hls.stream_start_pts(url, GOP_FRAMES / FPS, deadline)
        except NotMeasured as e:
            return f"not measured: {e}"
    return out


def screen_latency(sample: dict, init_pts: list[dict], level_urls: list[str], start_pts: dict[str, float],
                   sent0: float) -> float | None:
    """Wall-clock latency of one player sample: its Date.now() minus the time the frame on screen was
    sent. That frame has the server PTS currentTime + initPTS/timescale (hls.js sets the
    SourceBuffer's timestampOffset to -initPTS of the fragment's discontinuity counter); it is
    PTS − P0 after the stream's first video frame (P0, of the variant being played), which was sent
    at `sent0`. None when the sample cannot be mapped (no initPTS yet, unknown variant)."""
    playing = sample.get("playing") or {}
    cc, sn = playing.get("cc"), playing.get("sn")
    # before the first FRAG_CHANGED the playing fragment is unknown: the latest initPTS stands
    # (nginx-rtmp marks its first segment discontinuous, so cc is not always 0)
    found = [e for e in init_pts if cc is None or e["cc"] == cc]
    # the initPTS in force when the playing fragment was appended: the last one found at or before it
    before = [e for e in found if sn is None or e["sn"] <= sn]
    ev = (before or found or [None])[-1]
    if ev is None or not ev.get("timescale"):
        return None
    level = playing.get("level", ev["level"])
    p0 = start_pts.get(level_urls[level]) if 0 <= level < len(level_urls) else None
    if p0 is None and max(start_pts.values()) - min(start_pts.values()) <= FRAME:
        p0 = next(iter(start_pts.values()))  # the variants share their PTS: any one will do
    if p0 is None:
        return None
    since_first = (sample["t"] + ev["initPTS"] / ev["timescale"] - p0) % PTS_WRAP
    if since_first > PTS_WRAP / 2:
        since_first -= PTS_WRAP
    return sample["wall"] / 1000 - (sent0 + since_first)


def clock_latency(out: dict, pub: Publisher, s0: float | None,
                  starts: dict[str, tuple[float, float]] | str) -> float | str:
    """Median wall-clock latency over the samples hls.latency's figure uses, or 'not measured: why'."""
    if isinstance(starts, str):
        return starts
    start_pts = {url: anchor for url, (anchor, _) in starts.items()}
    if s0 is None:
        return "not measured: ffprobe found no video PTS in the source file"
    if pub.t0 is None:
        return "not measured: the publisher reported no progress (no t0)"
    if not out.get("init_pts"):
        return "not measured: hls.js reported no initPTS"
    samples = [s for s in out.get("clock_samples", []) if s.get("latency") is not None]
    tail = samples[-max(1, len(samples) // 4):]
    vals = [v for v in (screen_latency(s, out["init_pts"], out.get("level_urls", []), start_pts, pub.t0 + s0)
                        for s in tail) if v is not None]
    if not vals:
        return "not measured: no sample mapped to a variant's PTS"
    if min(vals) < 0:
        # A frame cannot be on screen before it was sent: the PTS mapping is wrong, not the server fast.
        return f"not measured: negative ({min(vals):.2f} s), the PTS mapping is off"
    return median(vals)


def measure_player(rep: Report, sides: dict, sz: Sizes, src: Path, logs: Path, streams: Streams,
                   seg: int, latency_cache: dict) -> None:
    cfg = frontend_hls_config()
    defaults = frontend_hls_config("LIVE_HLS_DEFAULTS")
    rep.note(f"Player: hls.js in headless Debian Chromium with ferrocast's player settings for both peers: "
             f"`{json.dumps(cfg)}`, defaults `{json.dumps(defaults)}` (a playlist's `PART-HOLD-BACK` "
             f"overrides them); each player figure is the median over the last quarter of {sz.play:g} s "
             f"of play, sampled every 250 ms.")
    rep.note("Player latency: `hls.latency` (edge + age − currentTime) counts `age` from when the *player* saw "
             "the playlist change, so its zero moves with the phase between the server's updates and the player's "
             "polls (up to a poll interval), and as hls.js steers playback to hold it at its target, the true "
             "latency carries that phase instead. The clock row is wall time: Date.now() at each sample − when the "
             "frame on screen was sent (publisher t0 + its PTS, mapped through hls.js's initPTS and the server "
             "PTS of the stream's first frame, read from segments 0 and 1 of the variant played).")
    why = player_ready()
    s0 = source_start_pts(src)
    noted: set[str] = set()

    def note_once(text: str) -> None:
        if text not in noted:
            noted.add(text)
            rep.note(text)

    def play_once(name: str, side: Side, mode: str) -> PlayerRun | str:
        """One fresh stream and one fresh browser, or 'not measured: why'."""
        idx = streams.take()[0]
        url, playlist = side.stream(mode, idx)
        pub = Publisher(src, url, logs / f"pub-player-{name}-{mode}.log", loop=True)
        try:
            try:
                _, variants = hls.wait_playable(playlist, time.monotonic() + 30)
            except TimeoutError:
                return "not measured: never playable"
            # In a thread beside the player, so the player starts as soon as the stream is playable,
            # as before; it waits for segment 1 (see hls.stream_start_pts), long before play ends.
            probe = ThreadPoolExecutor(max_workers=1)
            starting = probe.submit(variant_start_pts, variants, time.monotonic() + 3 * seg + 10)
            probe.shutdown(wait=False)
            log(f"player latency {name} {mode} ({sz.play:g} s)")
            r = None
            for attempt in range(2):  # one retry: a headless browser can die on a loaded machine
                try:
                    r = subprocess.run(["node", str(Path(__file__).with_name("player.mjs")), playlist,
                                        str(sz.play), json.dumps(cfg), json.dumps(defaults)],
                                       capture_output=True, text=True,
                                       timeout=sz.play + 90)
                except subprocess.TimeoutExpired as e:
                    r = subprocess.CompletedProcess(e.cmd, 1, "", "player timed out")
                (logs / f"player-{name}-{mode}-{idx}-{attempt}.log").write_text(r.stderr)
                if r.returncode == 0 and r.stdout.strip():
                    break
            if r.returncode != 0 or not r.stdout.strip():
                first = next((ln.strip() for ln in r.stderr.splitlines() if "Error" in ln), r.stderr.strip()[:150])
                return f"not measured: player failed: {first[:200]}"
            out = json.loads(r.stdout.strip().splitlines()[-1])
            starts = starting.result()
            (logs / f"player-{name}-{mode}-{idx}.json").write_text(json.dumps(
                {"player": out, "t0": pub.t0, "s0": s0, "starts": starts}))
            if isinstance(starts, dict) and len(starts) > 1:
                anchors = [a for a, _ in starts.values()]
                if max(anchors) - min(anchors) > 0.005:
                    each = ", ".join(f"{u.rsplit('/', 2)[-2]} {a:.3f} (segment 0 opens at {p0:.3f})"
                                     for u, (a, p0) in starts.items())
                    note_once(f"player {name} {mode}: the variants date the stream's first frame differently: "
                              f"{each} s; the clock row uses the variant hls.js played")
            samples = [s for s in out["latency_samples"] if s is not None]
            if not out["started"] or not samples:
                return f"not measured: playback did not start {out.get('errors')}"
            if out["errors"]:
                rep.note(f"player {name} {mode}: fatal errors {out['errors']}")
            if len({(e["cc"], e["initPTS"]) for e in out.get("init_pts", [])}) > len({e["cc"] for e in out["init_pts"]}):
                note_once(f"player {name} {mode}: hls.js changed its initPTS within a discontinuity "
                          f"{[(e['level'], e['sn'], e['initPTS']) for e in out['init_pts']]}")
            tail = samples[-max(1, len(samples) // 4):]
            return PlayerRun(median(tail), clock_latency(out, pub, s0, starts))
        finally:
            pub.stop()

    for mode in sz.player_modes:
        label = "passthrough" if mode == "copy" else "ABR ladder"
        got: dict[str, list] = {name: [] for name in sides}
        for run in range(sz.player_runs):
            order = list(sides) if run % 2 == 0 else list(reversed(list(sides)))
            for name in order:
                side = sides[name]
                if isinstance(side, str) or why:
                    got[name].append(side if isinstance(side, str) else why)
                    continue
                got[name].append(play_once(name, side, mode))
        lat, clock = {}, {}
        for name, vals in got.items():
            runs = [v for v in vals if isinstance(v, PlayerRun)]
            lat[name] = median([v.latency for v in runs]) if runs else (vals[0] if vals else None)
            clocks = [v.clock for v in runs if isinstance(v.clock, float)]
            clock[name] = median(clocks) if clocks else next(
                (v.clock for v in runs), vals[0] if vals else None)
            if len(runs) > 1:
                rep.note(f"player {name} {mode}: hls.latency of each run "
                         f"{', '.join(f'{v.latency:.2f}' for v in runs)} s")
                rep.note(f"player {name} {mode}: frame sent → on screen (clock) of each run " + ", ".join(
                    f"{v.clock:.2f}" if isinstance(v.clock, float) else f"({v.clock})" for v in runs) + " s")
        f, n = lat.get("ferrocast"), lat.get("nginx-rtmp")
        met = None
        if isinstance(f, float) and isinstance(n, float):
            met = f <= n
        rep.add("2 live latency", f"{label}: hls.js `hls.latency` after {sz.play:g} s, median of {sz.player_runs}",
                f, n, "s",
                target="≤ nginx", met=met,
                note=("hls.js steers this estimate to its own target (2 segment lengths) on any server; it reads "
                      "lower only while the player learns of a segment late (see notes): the clock row below is "
                      "the latency viewers get"))
        fc, nc = clock.get("ferrocast"), clock.get("nginx-rtmp")
        met = None
        if isinstance(fc, float):
            met = fc <= 4.0 and (not isinstance(nc, float) or fc <= nc)
        rep.add("2 live latency", f"{label}: frame sent → on screen, measured (clock), median of {sz.player_runs}",
                fc, nc, "s", target=f"≤ 4 s at {seg} s segments, ≤ nginx", met=met)
        # The former estimate, kept for comparison with older results: it inherits hls.latency's poll phase.
        fa, na = latency_cache.get(("avail", "ferrocast", mode)), latency_cache.get(("avail", "nginx-rtmp", mode))
        est = {peer: a + b for peer, a, b in (("ferrocast", f, fa), ("nginx-rtmp", n, na))
               if isinstance(a, float) and isinstance(b, float)}
        if est:
            rep.note(f"player {label}: hls.latency + segment-listing latency (the estimate used before the clock "
                     f"row) {', '.join(f'{k} {v:.2f} s' for k, v in est.items())}")


# ============================================================== 3 + 4: capacity, CPU and memory

class KeepAlive:
    """GETs over one persistent HTTP/1.1 connection per server. urllib opens a TCP connection per
    request: ≈ 0.26 ms of Python CPU per playlist here against 0.14 ms, and an accept per request for
    the server under test, at hundreds of playlists a second on the same 2 cores."""

    def __init__(self, timeout: float = 1.0) -> None:
        self.timeout = timeout
        self.conns: dict[str, http.client.HTTPConnection] = {}

    def get(self, url: str) -> str | None:
        u = urlsplit(url)
        target = u.path + (f"?{u.query}" if u.query else "")
        for _ in range(2):  # a connection the server closed while idle is retried once
            c = self.conns.get(u.netloc)
            if c is None:
                c = self.conns[u.netloc] = http.client.HTTPConnection(u.hostname, u.port, timeout=self.timeout)
            try:
                c.request("GET", target)
                r = c.getresponse()
                body = r.read()
                if r.will_close:
                    self.conns.pop(u.netloc).close()
                return body.decode(errors="replace") if r.status == 200 else None
            except (OSError, http.client.HTTPException):
                self.conns.pop(u.netloc, None)
                c.close()
        return None

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
        self.conns.clear()


class RoundRobinWatch:
    """Watches many media playlists from one thread: when each segment is first listed. Used only
    to judge 'keeps up with real time' at scale. Each playlist is polled every `min_poll` s, or
    less often when that would exceed `max_rate` requests/s (800 streams: every 2 s): the watcher
    shares the 2 cores with the servers, and a playlist window of several segments loses nothing
    between two polls. The ends of a measurement window are fresh all the same: `sweep()` polls
    every playlist at once, and `polled` has when each was last read. `tid` is the thread's id,
    for its own CPU figure."""

    def __init__(self, min_poll: float = 0.5, max_rate: float = 400.0) -> None:
        self.min_poll = min_poll
        self.max_rate = max_rate
        self.poll = min_poll  # the interval planned for the current number of playlists
        self.round_max = 0.0  # longest round (every playlist once) since reset()
        self.tid: int | None = None
        self.items: list[tuple[str, hls.SegmentWatcher]] = []
        self.polled: dict[int, float] = {}  # id(watcher) -> time.time() of its last poll
        self._rounds = 0
        self._in_round = False
        self._cv = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, url: str) -> hls.SegmentWatcher:
        w = hls.SegmentWatcher(url)
        with self._cv:
            self.items.append((url, w))
        return w

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        client = KeepAlive()
        try:
            while not self._stop.is_set():
                t = time.monotonic()
                with self._cv:
                    items = list(self.items)
                    self._in_round = True
                self.poll = max(self.min_poll, len(items) / self.max_rate)
                for url, w in items:
                    text = client.get(url)
                    self.polled[id(w)] = now = time.time()
                    w.record(text, now)
                    if self._stop.is_set():
                        return
                took = time.monotonic() - t
                self.round_max = max(self.round_max, took)
                with self._cv:
                    self._rounds += 1
                    self._in_round = False
                    self._cv.notify_all()
                self._wake.wait(max(0.0, self.poll - took))
                self._wake.clear()
        finally:
            client.close()

    def sweep(self, timeout: float = 60.0) -> None:
        """Returns once every playlist has been polled after this call (a round starts at once)."""
        with self._cv:
            target = self._rounds + (2 if self._in_round else 1)
            self._wake.set()
            self._cv.wait_for(lambda: self._rounds >= target or self._stop.is_set(), timeout)

    def reset(self) -> None:
        self.round_max = 0.0

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.thread.join()


def media_playlist_of(master_url: str, deadline: float) -> str | None:
    try:
        _, variants = hls.wait_playable(master_url, deadline, poll=0.2)
    except TimeoutError:
        return None
    return variants[0]


def wait_playable_all(new_entries: list, deadline: float, entries: list, watch: RoundRobinWatch) -> list:
    """Checks the new streams in rounds (0.2 s apart) until each is playable, then watches its
    first variant; one slow stream does not use up the others' time. Returns those never playable."""
    client = KeepAlive()
    pending = list(new_entries)
    try:
        while pending:
            still = []
            for p, playlist in pending:
                urls = hls.playable_variants(playlist, client.get)
                if urls:
                    entries.append((p, watch.add(urls[0])))
                else:
                    still.append((p, playlist))
            pending = still
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        client.close()
    return pending


def not_playable(pending: list, n_new: int) -> str:
    """Why a step stopped at streams that never became playable, with what can be seen of it."""
    exited = [p for p, _ in pending if not p.alive()]
    reasons = sorted({getattr(p, "exit_reason", None) or "?" for p in exited})
    status, _ = http_get(pending[0][1], timeout=2.0)
    return (f"{len(pending)} of {n_new} new streams never became playable ("
            + (f"{len(exited)} of their publishers exited: {'; '.join(reasons)[:200]}; " if exited else "")
            + f"the first one's playlist: {f'HTTP {status}' if status else 'no answer in 2 s'})")


def capacity_side(side: Side, sz: Sizes, src: Path, logs: Path, streams: Streams, seg: int,
                  fleet_exe: Path | None):
    """Ramps passthrough publishers: streams of one rtmp-fleet process, or one ffmpeg each when
    `fleet_exe` is None. Returns (held K, per-step dicts, reason the ramp stopped)."""
    mode = "copy"
    fl = fleet.Fleet(fleet_exe, src, logs / f"fleet-{side.name}.log") if fleet_exe else None
    pubs: list = []  # Publisher or fleet.FleetPublisher
    watch = RoundRobinWatch()
    entries: list[tuple[Publisher, hls.SegmentWatcher]] = []
    steps_out = []
    held = 0
    stop_reason = "ceiling of this run's ramp"
    try:
        for k in sz.steps:
            log(f"capacity {side.name}: K={k}")
            new = streams.take(k - len(pubs))
            new_entries = []
            for idx in new:
                url, playlist = side.stream(mode, idx)
                p = fl.publish(url) if fl else Publisher(src, url, logs / f"cap-{side.name}.log", loop=True)
                pubs.append(p)
                new_entries.append((p, playlist))
            pending = wait_playable_all(new_entries, time.monotonic() + 20 + 0.2 * len(new), entries, watch)
            if pending:
                stop_reason = f"K={k}: {not_playable(pending, len(new))}"
                steps_out.append({"k": k, "held": False, "why": stop_reason})
                break
            time.sleep(1.0)
            watch.sweep()
            before = {id(w): (w.media_listed(), watch.polled[id(w)]) for _, w in entries}
            sent_before = {id(p): p.out_time for p in pubs}
            watch.reset()
            busy0, tot0 = machine_cpu_busy()
            # the fleet's one pid is counted once; the harness is this Python process (watcher,
            # report readers, samplers), its watcher thread also on its own
            with CpuWindow(lambda: side.server_pids(mode)) as srv, \
                    CpuWindow(lambda: side.child_pids(mode)) as ch, \
                    CpuWindow(lambda: sorted({p.proc.pid for p in pubs})) as cl, \
                    CpuWindow(lambda: [os.getpid()]) as harness, \
                    CpuWindow(lambda: [watch.tid] if watch.tid else []) as watcher:
                time.sleep(sz.hold)
            busy1, tot1 = machine_cpu_busy()
            watch.sweep()
            now = time.time()
            dead = sum(1 for p in pubs if not p.alive())
            # speed over this window (ffmpeg's own `speed=` is an average since its start)
            speeds = [(p.out_time - sent_before[id(p)]) / sz.hold for p in pubs]
            slow = [v for v in speeds if v < 0.97 - 0.5 / sz.hold]  # progress reports come every 0.25 s
            # media listed between a stream's two sweeps, against the time between them
            listed = [(w.media_listed() - before[id(w)][0], watch.polled[id(w)] - before[id(w)][1])
                      for _, w in entries]
            behind = [(a, span) for a, span in listed if a < span - 2 * seg - 1.0]
            lags = [now - (p.t0 + w.media_listed()) for p, w in entries if p.t0 is not None and w.first_sequence_seen in (0, 1)]
            disc = sum(1 for _, w in entries if w.breaks())
            ok = not dead and not slow and not behind and not disc
            why = []
            if dead:
                reasons = sorted({p.exit_reason for p in pubs if getattr(p, "exit_reason", None)})
                why.append(f"{dead} publishers exited" + (f" ({'; '.join(reasons)[:200]})" if reasons else ""))
            if slow:
                why.append(f"{len(slow)} publishers below real time (min speed {min(slow):.2f}×)")
            if behind:
                worst = min(behind, key=lambda b: b[0] - b[1])
                why.append(f"{len(behind)} streams listed < their watched time − {2 * seg + 1:g} s of media "
                           f"(worst {worst[0]:.1f} s in {worst[1]:.1f} s)")
            if disc:
                why.append(f"{disc} playlists with discontinuities")
            step = {"k": k, "held": ok, "why": "; ".join(why), "srv_cpu": srv.cpu_fraction, "srv_rss": srv.rss_total,
                    "ch_cpu": ch.cpu_fraction, "ch_rss": ch.rss_total, "ch_n": ch.nprocs,
                    "client_cpu": cl.cpu_fraction, "machine_busy": (busy1 - busy0) / max(1, tot1 - tot0),
                    "harness_cpu": harness.cpu_fraction, "watcher_cpu": watcher.cpu_fraction,
                    "poll": watch.poll, "round_max": watch.round_max, "lag_max": max(lags) if lags else None}
            steps_out.append(step)
            log(f"capacity {side.name}: K={k} held={ok} server {100 * srv.cpu_fraction:.1f}% "
                f"children {100 * ch.cpu_fraction:.1f}% publishers {100 * cl.cpu_fraction:.1f}% "
                f"harness {100 * harness.cpu_fraction:.1f}% (watcher {100 * watcher.cpu_fraction:.1f}%, "
                f"polls every {watch.poll:.1f} s, rounds ≤ {watch.round_max:.2f} s) "
                f"machine {100 * step['machine_busy']:.0f}% {step['why']}")
            if not ok:
                stop_reason = f"K={k}: {step['why']}"
                break
            held = k
    finally:
        watch.stop()
        if fl is not None:
            fl.close()
        else:
            for p in pubs:
                p.proc.terminate()
            for p in pubs:
                p.stop()
    return held, steps_out, stop_reason


def capacity_row(rep: Report, sz: Sizes, what: str, f, n) -> None:
    """One capacity row: ferrocast's ramp result `f` against a peer's `n` ((held K, steps, why) or
    why not measured). A side that held the top step is only a lower bound."""
    top = sz.steps[-1]

    def held(r):
        if isinstance(r, str):
            return r
        k, steps, why = r
        return k if k < top else f"≥ {k}"

    met = None
    fh, nh = held(f) if f is not None else None, held(n) if n is not None else None
    if isinstance(f, tuple) and isinstance(n, tuple):
        f_exact, n_exact = f[0] < top, n[0] < top
        if n_exact and n[0] > 0 and f[0] >= 2 * n[0]:
            met = True
        elif f_exact and (f[0] < 2 * n[0] or not n_exact):
            met = False
        # otherwise undetermined: ferrocast held the top step but below 2 × nginx
    both_top = isinstance(f, tuple) and isinstance(n, tuple) and f[0] >= top and n[0] >= top
    rep.add("3 capacity", f"passthrough publishers held {sz.hold:g} s (2.5 Mb/s each, K steps {list(sz.steps)}){what}",
            fh, nh, "streams",
            ratio=(f"{'≥ ' if f[0] >= top else ''}{f[0] / n[0]:.2f}×"
                   if isinstance(f, tuple) and isinstance(n, tuple) and n[0] else None),
            target="≥ 2 × nginx", met=met,
            note=("both reached the top step: the ramp (and this 2-core machine running the publishers too) is the "
                  "limit, not the server" if both_top else ""))


# The capacity ramp's second nginx-rtmp: its name in notes, logs and the results of the ramp.
PER_CORE = "nginx-rtmp-per-core"


def measure_capacity(rep: Report, sides: dict, sz: Sizes, src: Path, logs: Path, streams: Streams, seg: int,
                     per_core=None) -> None:
    """`per_core`: nginx-rtmp with one worker per core (or why it did not start; the caller starts
    and stops it), ramped after the others and compared with ferrocast in a row of its own."""
    fleet_exe = fleet.binary(allow_debug=sz.smoke)
    if fleet_exe is None:
        rep.note("capacity: `rtmp-fleet` is not built (target/release, `cargo build --release --bins`): the publishers "
                 "are one `ffmpeg -re -stream_loop -1 -c copy` each, ≈ 10× the CPU per stream; at high K they, not "
                 "the servers, load the machine.")
    else:
        rep.note(f"capacity: the publishers are streams of one `rtmp-fleet` process ({fleet_exe.relative_to(ROOT)}): "
                 "the same file, sent at the same real-time pace as `ffmpeg -re -stream_loop -1 -c copy`, for a tenth "
                 "of its CPU per stream. Playlists are polled every 0.5 s, less often above 200 streams (≤ 400 "
                 "requests/s over keep-alive HTTP), and all at once at both ends of each window.")
    results = {}
    ramps = dict(sides)
    if per_core is not None:
        ramps[PER_CORE] = per_core
    for name, side in ramps.items():
        if isinstance(side, str):
            results[name] = side
            continue
        results[name] = capacity_side(side, sz, src, logs, streams, seg, fleet_exe)
    f, n = results.get("ferrocast"), results.get("nginx-rtmp")
    capacity_row(rep, sz, "", f, n)
    if per_core is not None:
        capacity_row(rep, sz, f" — nginx-rtmp with {os.cpu_count()} workers (one per core; `hls on` needs no relay "
                     "between workers, so this is its best passthrough setup)", f, results[PER_CORE])
    for name, r in results.items():
        if isinstance(r, tuple):
            rep.note(f"capacity {name}: stopped at {r[2]}; per step (% of a core): " + ", ".join(
                f"K={s['k']} server {100 * s.get('srv_cpu', 0):.1f}% + children {100 * s.get('ch_cpu', 0):.1f}% "
                f"+ publishers {100 * s.get('client_cpu', 0):.0f}% + harness {100 * s.get('harness_cpu', 0):.0f}% "
                f"(playlist watcher {100 * s.get('watcher_cpu', 0):.0f}%, polls every {s.get('poll', 0):.1f} s, "
                f"rounds ≤ {s.get('round_max', 0):.2f} s), "
                f"machine busy {100 * s.get('machine_busy', 0):.0f}%"
                for s in r[1] if "srv_cpu" in s))

    # 4: CPU and memory per stream at chosen K (from the same ramp windows)
    def at(r, k):
        if isinstance(r, str) or r is None:
            return None
        for s in r[1]:
            if s["k"] == k and "srv_cpu" in s:
                return s
        return None

    for k in sz.resource_ks:
        fs, ns = at(f, k), at(n, k)

        def cell(s, key, scale, r):
            if s is None:
                return r if isinstance(r, str) else f"not measured: K={k} not reached"
            return s[key] * scale / k

        fcpu = cell(fs, "srv_cpu", 100, f)
        rep.add("4 CPU + memory", f"passthrough K={k}: server process CPU per stream (children excluded)",
                fcpu, cell(ns, "srv_cpu", 100, n), "% of a core",
                target="ferrocast ≤ 1 %", met=(fcpu <= 1.0 if isinstance(fcpu, float) else None))
        rep.add("4 CPU + memory", f"passthrough K={k}: server RSS per stream", cell(fs, "srv_rss", 1 / 2**20, f),
                cell(ns, "srv_rss", 1 / 2**20, n), "MiB")
        rep.add("4 CPU + memory", f"passthrough K={k}: ffmpeg children CPU per stream", cell(fs, "ch_cpu", 100, f),
                cell(ns, "ch_cpu", 100, n) if ns is not None else cell(ns, "ch_cpu", 100, n), "% of a core",
                note="nginx `hls on` remuxes in-process: no children")
        rep.add("4 CPU + memory", f"passthrough K={k}: ffmpeg children RSS per stream", cell(fs, "ch_rss", 1 / 2**20, f),
                cell(ns, "ch_rss", 1 / 2**20, n), "MiB")


def ladder_resources(rep: Report, cache: dict) -> None:
    c = cache.get("ladder_cpu") or {}

    def cell(name, i, scale):
        v = c.get(name)
        if v is None:
            return "not measured"
        return v[i] * scale

    rep.add("4 CPU + memory", "ABR ladder K=1: server process CPU", cell("ferrocast", 0, 100), cell("nginx-rtmp", 0, 100),
            "% of a core")
    rep.add("4 CPU + memory", "ABR ladder K=1: server RSS", cell("ferrocast", 1, 1 / 2**20), cell("nginx-rtmp", 1, 1 / 2**20),
            "MiB")
    rep.add("4 CPU + memory", "ABR ladder K=1: ffmpeg children CPU", cell("ferrocast", 2, 100), cell("nginx-rtmp", 2, 100),
            "% of a core")
    rep.add("4 CPU + memory", "ABR ladder K=1: ffmpeg children RSS", cell("ferrocast", 3, 1 / 2**20),
            cell("nginx-rtmp", 3, 1 / 2**20), "MiB")


# ============================================================== 5: HLS serving

def wrk(url: str, seconds: float, connections: int = 32) -> dict:
    try:
        r = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{max(1, int(round(seconds)))}s", "--timeout", "5s",
                            "--latency", url], capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        raise NotMeasured("wrk did not finish in time") from None
    out = r.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if r.returncode != 0 or not m:
        raise NotMeasured(f"wrk failed: {(r.stderr or out).strip()[-200:]}")
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": float(m.group(1)), "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(0) if errors else ""}


def newest_segment(media_url: str) -> str | None:
    text = hls.fetch(media_url)
    if not text:
        return None
    pl = hls.parse_media(text)
    return pl.segments[-1][2] if pl.segments else None


def measure_serving(rep: Report, sides: dict, sz: Sizes, src: Path, logs: Path, streams: Streams,
                    nginx_static, ferro) -> None:
    """One passthrough stream per peer; wrk against its live media playlist and its newest segment
    (each run picks a fresh segment, still listed for the whole run)."""
    from urllib.parse import urljoin
    if not shutil.which("wrk"):
        rep.add("5 HLS serving", "all", "not measured: wrk missing", "not measured: wrk missing")
        return
    targets: dict[str, dict] = {}  # label -> {"playlist": url, "segment_base": url}
    pubs = []
    try:
        for name, side in sides.items():
            if isinstance(side, str):
                continue
            idx = streams.take()[0]
            url, playlist = side.stream("copy", idx)
            pubs.append(Publisher(src, url, logs / f"pub-serving-{name}.log", loop=True))
            media = media_playlist_of(playlist, time.monotonic() + 30)
            if media is None:
                continue
            if name == "ferrocast":
                username = side.streamer(idx)[0]
                targets["ferrocast ingest origin"] = {"playlist": media}
                gw_media = media.replace(ferro.ingests["copy"].origin, ferro.gateway)
                targets["ferrocast via gateway"] = {"playlist": gw_media}
                d = None
                for _ in range(50):
                    d = ferro.ingests["copy"].session_dir(username)
                    if d:
                        break
                    time.sleep(0.1)
                if d is not None:
                    rel = media.split(f"/hls/{username}/", 1)[1]
                    targets["nginx static, same ferrocast files"] = {
                        "playlist": nginx_static.url("fc-hls", str((d / rel).relative_to(ferro.ingests["copy"].hls_root)))}
            else:
                targets["nginx-rtmp http (1 worker)"] = {"playlist": media}
                rel = media.split("/hls/", 1)[1]
                targets["nginx static, nginx-rtmp files"] = {"playlist": nginx_static.url("nx-hls", rel)}
        time.sleep(2 * 1.0)
        res: dict[str, dict] = {}
        for what in ("playlist", "segment"):
            # Rounds visit every target in turn: the same target moved between 12 k and 30 k req/s
            # within minutes on this shared machine, so blocks of runs per target would compare
            # different moments. The median of the rounds then drops the odd outlier.
            runs: dict[str, dict] = {label: {"rps": [], "p99": [], "bad": 0} for label in targets}
            for _ in range(sz.wrk_runs):
                for label, t in targets.items():
                    r = runs[label]
                    if r.get("failed"):
                        continue
                    url = t["playlist"]
                    if what == "segment":
                        seg = newest_segment(url)
                        if seg is None:
                            continue
                        url = urljoin(url, seg)
                    log(f"wrk {what} {label}")
                    try:
                        w = wrk(url, sz.wrk_seconds)
                    except NotMeasured as e:
                        r["failed"] = str(e)
                        continue
                    r["rps"].append(w["rps"])
                    if w["p99_ms"] is not None:
                        r["p99"].append(w["p99_ms"])
                    r["bad"] += w["non2xx"]
            for label, r in runs.items():
                if r["rps"]:
                    res[(label, what)] = {"rps": median(r["rps"]), "p99": max(r["p99"]) if r["p99"] else None,
                                          "bad": r["bad"]}
                elif r.get("failed"):
                    res[(label, what)] = r["failed"]
    finally:
        for p in pubs:
            p.stop()

    def g(label, what, key):
        v = res.get((label, what))
        if v is None:
            return "not measured"
        if isinstance(v, str):
            return v
        return v[key]

    for what in ("playlist", "segment"):
        base_rps = g("nginx static, same ferrocast files", what, "rps")
        base_p99 = g("nginx static, same ferrocast files", what, "p99")
        for label in ("ferrocast ingest origin", "ferrocast via gateway"):
            fr = g(label, what, "rps")
            met = None
            if label == "ferrocast ingest origin" and isinstance(fr, float) and isinstance(base_rps, float):
                met = fr >= base_rps
            rep.add("5 HLS serving", f"{what}: {label} vs nginx static on the same files, req/s", fr, base_rps,
                    "req/s", target="≥ 1.0 × nginx" if label == "ferrocast ingest origin" else "",
                    met=met)
            rep.add("5 HLS serving", f"{what}: {label} vs nginx static, p99", g(label, what, "p99"), base_p99, "ms")
        rep.add("5 HLS serving", f"{what}: nginx-rtmp's own http (1 worker) / nginx static (auto workers), req/s",
                g("nginx-rtmp http (1 worker)", what, "rps"), g("nginx static, nginx-rtmp files", what, "rps"), "req/s",
                note="nginx beside nginx, for scale")
        bad = sum(v["bad"] for (lbl, w), v in res.items() if w == what and isinstance(v, dict))
        if bad:
            rep.note(f"HLS serving {what}: {bad} non-2xx answers across all wrk runs (a segment rolled out of the window?)")
    rep.note(f"HLS serving: wrk -t2 -c32, {sz.wrk_runs} rounds × {sz.wrk_seconds:g} s per figure, each round visiting every "
             "target in turn (median req/s, worst p99); wrk runs on "
             "the same 2 cores as the server. nginx static = plain nginx, `worker_processes auto`, sendfile, no cache.")


# ============================================================== 6: gRPC AuthenticateStreamKey

def auth_load(ferro, mode: str, seconds: float, rate: float, **popen) -> list:
    """argv and env of the Rust load client (bench/auth-load); the service token and the stream
    key go through its environment, never argv."""
    client = ferro.bin / "ferrocast-bench-auth-load"
    if not client.is_file():
        raise NotMeasured(f"{client} is missing (`cargo build --release --bins`)")
    env = dict(os.environ, FERROCAST_BENCH_SERVICE_TOKEN=ferro.service_token,
               FERROCAST_BENCH_STREAM_KEY=ferro.users[0][1])
    return [str(client), f"127.0.0.1:{ferro.ports['grpc']}", mode, str(seconds), str(rate)], env


def measure_auth(rep: Report, ferro, sz: Sizes, ferro_err: str | None) -> None:
    peer = "n/a (nginx-rtmp has no auth service; it calls an HTTP on_publish hook)"
    if ferro is None:
        rep.add("6 gRPC auth", "AuthenticateStreamKey p99 at 1 000 req/s", ferro_err, peer, "ms",
                target="≤ 2 ms", met=None)
        return
    users_pid = ferro.procs["users"].pid
    out = {}
    for mode, rate in (("fixed", 1000), ("max", 0), ("low", 100)):
        log(f"gRPC AuthenticateStreamKey {mode} ({sz.auth_seconds:g} s)")
        time.sleep(1)  # let a backlog of the previous load drain
        pids = [users_pid] + ([ferro.store_pid] if ferro.store_pid else [])
        try:
            argv, env = auth_load(ferro, "max" if mode == "max" else "fixed", sz.auth_seconds, rate)
            with CpuWindow(lambda: pids) as users_cpu, CpuWindow(lambda: pids[1:]) as store_cpu:
                r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=sz.auth_seconds + 40)
        except NotMeasured as e:
            out[mode] = f"not measured: {e}"
            continue
        except subprocess.TimeoutExpired:
            out[mode] = "not measured: the client did not finish in time (service stalled?)"
            continue
        if r.returncode != 0 or not r.stdout.strip():
            out[mode] = f"not measured: client failed: {r.stderr.strip()[-200:]}"
            continue
        o = json.loads(r.stdout.strip().splitlines()[-1])
        o["server_cpu"] = users_cpu.cpu_fraction - store_cpu.cpu_fraction
        o["store_cpu"] = store_cpu.cpu_fraction
        out[mode] = o
    fx, mx, lo = out.get("fixed"), out.get("max"), out.get("low")

    def cpu_note(o):
        return (f"client CPU {100 * o['client_cpu']:.0f}% of a core, users service {100 * o['server_cpu']:.0f}%, "
                f"document store (SecantusDB) {100 * o['store_cpu']:.0f}%")

    if isinstance(fx, dict):
        p99 = fx["p99_ms"]
        rep.add("6 gRPC auth", f"AuthenticateStreamKey at a fixed {fx['rate']:.0f} req/s: p50",
                fx["p50_ms"] if fx["p50_ms"] is not None else "no successful call", peer, "ms")
        rep.add("6 gRPC auth", "same: p99", p99 if p99 is not None else "no successful call", peer, "ms",
                target="≤ 2 ms", met=(p99 is not None and p99 <= 2.0 and fx["errors"] == 0),
                note=f"{fx['errors']} errors {fx.get('error_codes') or ''} of {fx['n']}, "
                     f"{fx.get('late_sends', 0)} sends the client itself could not make on time; " + cpu_note(fx))
    else:
        rep.add("6 gRPC auth", "AuthenticateStreamKey p99 at 1 000 req/s", fx, peer, "ms", target="≤ 2 ms")
    if isinstance(mx, dict):
        rep.add("6 gRPC auth", "AuthenticateStreamKey max throughput", mx["rate"], peer, "req/s",
                note=f"{mx['clients']} connections × {mx['concurrency']} in flight, p99 "
                     f"{mx['p99_ms'] if mx['p99_ms'] is not None else float('nan'):.1f} ms, {mx['errors']} errors; "
                     + cpu_note(mx) + " (the client shares the 2 cores and can itself be the limit)")
    else:
        rep.add("6 gRPC auth", "AuthenticateStreamKey max throughput", mx, peer, "req/s")
    if isinstance(lo, dict) and lo["p99_ms"] is not None:
        rep.add("6 gRPC auth", f"for scale: at {lo['rate']:.0f} req/s, p50 / p99",
                f"{lo['p50_ms']:.2f} / {lo['p99_ms']:.2f}", peer, "ms",
                note=f"{lo['errors']} errors; " + cpu_note(lo))


# ============================================================== 7: ABR ladder cost

def measure_abr(rep: Report, sz: Sizes, src: Path, workdir: Path, seg: int, window: int,
                ingest_argv: list[str] | None) -> None:
    rep.note("ABR ladder cost: " + ("the ingest's own ffmpeg argv (read from /proc) with the source file as input and "
                                    "the x264 preset swapped" if ingest_argv else
                                    "bench/harness/ladder.py's mirror of the ingest's argv (ferrocast not running)")
             + f"; {sz.abr_seconds:g} s of the 720p30 source per figure; CPU from the kernel's accounting of the child.")
    for preset in sz.presets:
        out = Path(tempfile.mkdtemp(prefix=f"abr-{preset}-", dir=workdir))
        res = {}
        for realtime in (True, False):
            pre = (["-re"] if realtime else []) + ["-t", str(sz.abr_seconds)]
            if ingest_argv:
                argv = ["ffmpeg"] + ladder.from_ingest(ingest_argv, str(src), str(out), preset=preset, pre_input=pre)
            else:
                argv = ["ffmpeg"] + ladder.ladder_args(["-analyzeduration", "1000000"] + pre + ["-f", "flv", "-i", str(src)], str(out), seg, window,
                                                       preset=preset)
            log(f"ABR ladder {preset} {'at real time' if realtime else 'flat out'}")
            # CPU of the ffmpeg child from the kernel's accounting of reaped children (nothing else
            # is started or reaped meanwhile).
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.monotonic()
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, timeout=sz.abr_seconds * 10 + 60)
            except subprocess.TimeoutExpired:
                res[realtime] = "not measured: ffmpeg did not finish in time"
                continue
            el = time.monotonic() - t
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r.returncode != 0:
                res[realtime] = f"not measured: ffmpeg exited {r.returncode}: {r.stderr.strip()[-150:]}"
                continue
            cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
            res[realtime] = (cpu / el, sz.abr_seconds / el)
        shutil.rmtree(out, ignore_errors=True)
        rt, mx = res.get(True), res.get(False)
        cpu = rt[0] * 100 if isinstance(rt, tuple) else rt
        rep.add("7 ABR ladder cost", f"{preset}: CPU at real time, 720p30 source", cpu, "same ffmpeg ladder", "% of a core",
                note=(f"≈ {100 / cpu:.1f} streams per core" if isinstance(cpu, float) and cpu > 0 else ""))
        rep.add("7 ABR ladder cost", f"{preset}: max speed (no -re)", mx[1] if isinstance(mx, tuple) else mx,
                "same ffmpeg ladder", "× real time",
                note=(f"CPU {100 * mx[0]:.0f}% of a core while flat out" if isinstance(mx, tuple) else ""))


# ============================================================== profile (where the time goes)

def perf_top(pid: int, seconds: float, out: Path, limit: float = 1.5) -> str:
    """perf record of one process for `seconds`; top symbols (self time, children excluded)."""
    if not shutil.which("perf"):
        return "perf not installed"
    data = out.with_suffix(".data")
    r = subprocess.run(["perf", "record", "-q", "-F", "499", "-g", "-p", str(pid), "-o", str(data), "--",
                        "sleep", str(seconds)], capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0 or not data.exists():
        return f"perf record failed: {r.stderr.strip()[-200:]}"
    def report(sort: str, n: int) -> list[str]:
        r = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "-g", "none",
                            "--percent-limit", str(limit), "--sort", sort], capture_output=True, text=True,
                           timeout=300)
        out.with_name(out.stem + f"-{sort.replace(',', '-')}.txt").write_text(r.stdout)
        return [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")][:n]

    by_dso = report("dso", 8)
    by_sym = report("dso,sym", 20)
    # Rust symbols spread over thousands of small functions: add them up by crate (first path
    # segment of the demangled name; `<T as Trait>` counts for T's crate).
    r = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "-g", "none",
                        "--percent-limit", "0", "--sort", "dso,sym"], capture_output=True, text=True, timeout=300)
    crates: dict[str, float] = {}
    for ln in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", ln)
        if not m:
            continue
        share, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        if kind == "k":
            key = "[kernel]"
        elif not dso.startswith("ferrocast-"):
            key = dso
        else:
            sym = sym.lstrip("<&*_ ").replace("mut ", "").replace("dyn ", "")
            key = re.split(r"::|<| as |\s", sym, maxsplit=1)[0] or "?"
            if sym.startswith("0x"):
                key = "(no symbol)"
        crates[key] = crates.get(key, 0.0) + share
    top = sorted(crates.items(), key=lambda kv: -kv[1])[:14]
    by_crate = [f"{v:8.2f}%  {k}" for k, v in top]
    return ("\n".join(["by shared object:"] + by_dso + ["", "by crate (Rust) / library:"] + by_crate + ["", "by symbol:"]
                      + by_sym) if by_sym else "no samples")


def measure_profile(rep: Report, sides: dict, sz: Sizes, src: Path, logs: Path, streams: Streams, ferro,
                    results_dir: Path) -> list[tuple[str, str]]:
    """perf profiles, in a phase of their own so no figure above carries perf's overhead:
    the copy-only ingest with 10 passthrough publishers, and the users service under max auth load."""
    out: list[tuple[str, str]] = []
    side = sides.get("ferrocast")
    k, seconds = (2, 5) if sz.smoke else (10, 15)
    if isinstance(side, FerroSide):
        pubs = []
        try:
            for idx in streams.take(k):
                url, playlist = side.stream("copy", idx)
                pubs.append(Publisher(src, url, logs / "pub-profile.log", loop=True))
            time.sleep(5)
            log(f"perf: ferrocast ingest with {k} passthrough streams ({seconds} s)")
            out.append((f"ferrocast ingest (copy-only), {k} passthrough publishers, {seconds} s",
                        perf_top(side.server_pids("copy")[0], seconds, results_dir / "perf-ingest.txt")))
            # the HLS origin under wrk (newest segment of the first stream)
            from urllib.parse import urljoin
            media = media_playlist_of(side.stream("copy", idx)[1], time.monotonic() + 10)
            segment = newest_segment(media) if media else None
            if segment and shutil.which("wrk"):
                url = urljoin(media, segment)
                w = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{seconds + 2}s", url], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                time.sleep(1)
                log(f"perf: ferrocast ingest origin serving a segment to wrk ({seconds} s)")
                out.append((f"ferrocast ingest origin serving one segment to wrk -t2 -c32 (with {k} streams live), "
                            f"{seconds} s", perf_top(side.server_pids("copy")[0], seconds,
                                                    results_dir / "perf-origin.txt")))
                w.wait(timeout=seconds + 30)
        finally:
            for p in pubs:
                p.stop()
    if isinstance(side, FerroSide):
        # the ingest process (not its ffmpeg) with one stream on the default ladder
        pub = None
        try:
            idx = streams.take()[0]
            url, _ = side.stream("ladder", idx)
            pub = Publisher(src, url, logs / "pub-profile.log", loop=True)
            time.sleep(5)
            log(f"perf: ferrocast ingest with 1 ABR-ladder stream ({seconds} s)")
            out.append((f"ferrocast ingest (default ladder), 1 publisher, {seconds} s (the ingest process only)",
                        perf_top(side.server_pids("ladder")[0], seconds, results_dir / "perf-ingest-ladder.txt")))
        finally:
            if pub is not None:
                pub.stop()
    n = sides.get("nginx-rtmp")
    if isinstance(n, NginxSide):
        pubs = []
        try:
            for idx in streams.take(k):
                url, _ = n.stream("copy", idx)
                pubs.append(Publisher(src, url, logs / "pub-profile.log", loop=True))
            time.sleep(5)
            log(f"perf: nginx-rtmp worker with {k} passthrough streams ({seconds} s)")
            out.append((f"nginx-rtmp worker (`hls on`), {k} passthrough publishers, {seconds} s",
                        perf_top(n.server_pids("copy")[0], seconds, results_dir / "perf-nginx.txt")))
        finally:
            for p in pubs:
                p.stop()
    if ferro is not None and "users" in ferro.procs:
        try:
            argv, env = auth_load(ferro, "max", seconds + 4, 0)
            client = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(3)
            log(f"perf: users service under AuthenticateStreamKey load ({seconds} s)")
            out.append((f"users service, AuthenticateStreamKey closed loop, {seconds} s",
                        perf_top(ferro.procs["users"].pid, seconds, results_dir / "perf-users.txt")))
            client.wait(timeout=seconds + 60)
        except (NotMeasured, subprocess.TimeoutExpired) as e:
            out.append(("users service", f"not profiled: {e}"))
    return out
