"""Section `catalog`: the catalogue's upload throughput and search latency, measured by the Rust
binary `ferrocast-bench-catalog-load` (bench/catalog-load), which starts the users service and the
catalogue in its own process (with PostgreSQL and SeaweedFS as the test kit finds or starts them),
prints a markdown section of its own (its peers are plain S3 uploads and a latency target, not
nginx-rtmp), and stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from report import Report
from util import OWNED, log

ROOT = Path(__file__).resolve().parents[2]
BINARY = "ferrocast-bench-catalog-load"


def binary(allow_debug: bool) -> tuple[Path | None, str]:
    for profile in ("release", "debug") if allow_debug else ("release",):
        p = ROOT / "target" / profile / BINARY
        if p.is_file():
            return p, profile
    return None, ""


def measure_catalog(rep: Report, smoke: bool, logs: Path) -> None:
    exe, profile = binary(allow_debug=smoke)
    if exe is None:
        rep.add("9 catalogue", "uploads and search", f"not measured: target/release/{BINARY} is missing "
                "(`cargo build --release -p ferrocast-bench-catalog-load`)", None)
        return
    argv = [str(exe)] + (["--smoke"] if smoke else [])
    timeout = 300 if smoke else 3600
    log(f"{BINARY} ({profile}{', smoke sizes' if smoke else ''}); progress in {logs / 'catalog.log'}")
    p = OWNED.start("catalog-load", argv, log_path=logs / "catalog.log", stdout=subprocess.PIPE)
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
        rep.add("9 catalogue", "uploads and search", f"not measured: no result within {timeout} s", None)
    elif p.returncode != 0:
        rep.add("9 catalogue", "uploads and search", f"not measured: {BINARY} exited with {p.returncode} "
                f"(its error is in the section's notes, or in {logs / 'catalog.log'})", None)


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
