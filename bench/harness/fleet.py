"""Many passthrough publishers in one process: the workspace binary `rtmp-fleet` (bench/rtmp-fleet),
for the capacity ramp. One `ffmpeg -re -stream_loop -1 -c copy` per stream costs ≈ 0.6–0.9 % of a
core here, so at a few hundred streams the publishers, not the servers, used the 2 cores; the fleet
sends the same file at the same pace for ≈ 0.07 % per stream. Other sections keep real ffmpeg
publishers: they measure what an OBS/ffmpeg client sees.

`FleetPublisher` offers what the capacity ramp uses of `source.Publisher`: `out_time`, `t0`,
`alive()`, `stop()`, and `proc` (the one fleet process, for CPU accounting: count its pid once)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from util import OWNED, log

ROOT = Path(__file__).resolve().parents[2]
BINARY = "rtmp-fleet"


def binary(allow_debug: bool) -> Path | None:
    """target/release/rtmp-fleet (built by `cargo build --release --bins` with the rest of the
    workspace); a smoke run may use the debug build. None when neither exists."""
    for profile in ("release", "debug") if allow_debug else ("release",):
        p = ROOT / "target" / profile / BINARY
        if p.is_file():
            return p
    return None


class FleetPublisher:
    """One stream of a Fleet. t0 and out_time mean what they mean for `source.Publisher`: the wall
    time at which media time 0 was sent, and the media seconds sent so far (loops included)."""

    def __init__(self, fleet: "Fleet", sid: str) -> None:
        self.fleet = fleet
        self.id = sid
        self.proc = fleet.proc
        self.t0: float | None = None
        self.out_time = 0.0
        self.exit_reason: str | None = None
        self.exited = threading.Event()

    def alive(self) -> bool:
        return self.exit_reason is None and self.fleet.proc.poll() is None

    def stop(self, wait: float = 5.0) -> None:
        if self.alive():
            self.fleet.send(f"stop {self.id}")
            self.exited.wait(wait)


class Fleet:
    """One rtmp-fleet process; `publish(url)` adds a stream. Its report lines are read by a thread."""

    def __init__(self, exe: Path, src: Path, log_path: Path) -> None:
        self.proc = OWNED.start("rtmp-fleet", [str(exe), "--source", str(src)], log_path=log_path,
                                stdout=subprocess.PIPE, stdin=subprocess.PIPE)
        self.pubs: dict[str, FleetPublisher] = {}
        self.lock = threading.Lock()
        self.next = 0
        self.failures: list[str] = []  # exit reasons other than a requested stop
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def publish(self, url: str) -> FleetPublisher:
        with self.lock:
            sid = f"p{self.next}"
            self.next += 1
            pub = FleetPublisher(self, sid)
            self.pubs[sid] = pub
        self.send(f"add {sid} {url}")
        return pub

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the fleet is gone: its publishers report not alive

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            parts = raw.decode(errors="replace").split(maxsplit=2)
            if len(parts) < 3:
                continue
            kind, sid, rest = parts
            pub = self.pubs.get(sid)
            if pub is None:
                continue
            if kind == "progress":
                out_time, _, t0 = rest.partition(" ")
                try:
                    pub.out_time, pub.t0 = float(out_time), float(t0)
                except ValueError:
                    continue
            elif kind == "exit":
                pub.exit_reason = rest.strip()
                if pub.exit_reason != "stopped":
                    self.failures.append(pub.exit_reason)
                pub.exited.set()
        for pub in list(self.pubs.values()):
            if pub.exit_reason is None:
                pub.exit_reason = f"rtmp-fleet exited ({self.proc.poll()})"
                pub.exited.set()

    def close(self) -> None:
        """Stops every stream (end of stdin: each sends deleteStream) and the process."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log("rtmp-fleet did not stop on end of input; terminating it")
        OWNED.stop(self.proc)
        self._thread.join(timeout=5)
