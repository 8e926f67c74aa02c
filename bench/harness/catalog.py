"""Sections measured by a Rust binary that starts what it measures in its own process, prints a
markdown section of its own (its peers are not nginx-rtmp) and stops everything it started:
`catalog` (`ferrocast-bench-catalog-load --only upload,search`, bench/catalog-load: the
catalogue's upload throughput and search latency, with PostgreSQL and SeaweedFS as the test kit
finds or starts them), `playback` (`ferrocast-bench-catalog-load --only playback`: playback
session decisions under load on two replicas and slot handovers, against bare Redis), `vod`
(`ferrocast-bench-vod-worker --only vod`, bench/vod-worker: the VOD worker's fast start, full
ladder and overhead against the same commands run by hand, with NATS and SeaweedFS of its own)
`queue` (`ferrocast-bench-vod-worker --only queue`: the job loop's dispatch rate, latency and
fairness with no-op work against bare JetStream, with a NATS server of its own) and `recording`
(`ferrocast-bench-recording`, bench/recording: a live stream's end to its past broadcast playable,
against the same file uploaded as a video, with the platform, catalogue and a worker in-process)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from report import Report
from util import OWNED, log

ROOT = Path(__file__).resolve().parents[2]


def binary(name: str, allow_debug: bool) -> tuple[Path | None, str]:
    for profile in ("release", "debug") if allow_debug else ("release",):
        p = ROOT / "target" / profile / name
        if p.is_file():
            return p, profile
    return None, ""


def measure_catalog(rep: Report, smoke: bool, logs: Path) -> None:
    measure_binary(rep, smoke, logs, "ferrocast-bench-catalog-load", "9 catalogue", "uploads and search", "catalog",
                   ["--only", "upload,search"])


def measure_playback(rep: Report, smoke: bool, logs: Path) -> None:
    measure_binary(rep, smoke, logs, "ferrocast-bench-catalog-load", "12 playback sessions", "decisions and handovers",
                   "playback", ["--only", "playback"])


def measure_vod(rep: Report, smoke: bool, logs: Path) -> None:
    measure_binary(rep, smoke, logs, "ferrocast-bench-vod-worker", "10 VOD worker", "fast start and overhead", "vod",
                   ["--only", "vod"])


def measure_recording(rep: Report, smoke: bool, logs: Path) -> None:
    measure_binary(rep, smoke, logs, "ferrocast-bench-recording", "14 past broadcasts", "stream end to playable",
                   "recording")


def measure_queue(rep: Report, smoke: bool, logs: Path) -> None:
    measure_binary(rep, smoke, logs, "ferrocast-bench-vod-worker", "11 VOD queue", "dispatch rate and fairness",
                   "queue", ["--only", "queue"])


def measure_binary(rep: Report, smoke: bool, logs: Path, name: str, row: str, what: str, log_name: str,
                   extra: list[str] | None = None) -> None:
    exe, profile = binary(name, allow_debug=smoke)
    if exe is None:
        rep.add(row, what, f"not measured: target/release/{name} is missing (`cargo build --release -p {name}`)", None)
        return
    argv = [str(exe)] + (["--smoke"] if smoke else []) + (extra or [])
    timeout = 300 if smoke else 3600
    log_path = logs / f"{log_name}.log"
    log(f"{name} ({profile}{', smoke sizes' if smoke else ''}); progress in {log_path}")
    p = OWNED.start(log_name, argv, log_path=log_path, stdout=subprocess.PIPE)
    timed_out = False
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, timed_out = b"", True
    finally:
        if p.poll() is None:
            # SIGINT reaches its SeaweedFS too (same process group), which stops on SIGINT only.
            stop_group(p)
        OWNED.stop(p)
    md = out.decode(errors="replace").strip()
    if md:
        rep.sections.append(md)
    if timed_out:
        rep.add(row, what, f"not measured: no result within {timeout} s", None)
    elif p.returncode != 0:
        rep.add(row, what, f"not measured: {name} exited with {p.returncode} "
                f"(its error is in the section's notes, or in {log_path})", None)


def stop_group(p: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGINT, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
