"""The publisher side: one pre-encoded 720p30 2.5 Mb/s FLV made once, ffmpeg publishers that send it
in real time (-re -c copy), a clock for the capture time of every frame, and a TCP relay that
timestamps the RTMP connect."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

from util import OWNED, HarnessError, log

SOURCE_SECONDS = 30
FPS = 30
GOP_FRAMES = 30  # 1 s keyframe interval, as the README tells OBS users


def source_file(cache: Path) -> Path:
    """720p30 testsrc2 + 1 kHz sine, x264 veryfast High, CBR-ish 2.5 Mb/s, 1 s GOP, AAC 128k 48 kHz.
    Made once; later runs (and both peers) read the same file."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"src-720p30-2500k-gop{GOP_FRAMES}-{SOURCE_SECONDS}s.flv"
    if path.exists() and path.stat().st_size > 1_000_000:
        return path
    log(f"making the source file {path.name} (once)")
    tmp = path.with_suffix(".tmp.flv")
    argv = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", str(SOURCE_SECONDS),
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
            "-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "5000k",
            "-g", str(GOP_FRAMES), "-keyint_min", str(GOP_FRAMES), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
            "-f", "flv", str(tmp)]
    r = subprocess.run(argv, capture_output=True, timeout=600)
    if r.returncode != 0:
        raise HarnessError(f"could not make the source file: {r.stderr.decode()[-500:]}")
    tmp.rename(path)
    return path


class Publisher:
    """ffmpeg -re [-stream_loop -1] -i SOURCE -c copy -f flv URL, with -progress on stdout.

    t0: wall time at which the frame with PTS 0 was sent. With -re, ffmpeg releases the packet with
    PTS p at t0 + p; each progress report arrives just after a packet was written, so
    t0 = min(report arrival - out_time) is accurate to a few ms. That is the capture clock."""

    def __init__(self, src: Path, url: str, log_path: Path, loop: bool = False) -> None:
        argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-stats_period", "0.25",
                "-progress", "pipe:1", "-re"]
        if loop:
            argv += ["-stream_loop", "-1"]
        argv += ["-i", str(src), "-c", "copy", "-f", "flv", url]
        self.started = time.time()
        self.proc = OWNED.start("publisher", argv, log_path=log_path, stdout=subprocess.PIPE)
        self.t0: float | None = None
        self.out_time = 0.0
        self.speed: float | None = None
        self.drop = 0
        self.speeds: list[tuple[float, float]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            now = time.time()
            line = raw.decode(errors="replace").strip()
            key, _, val = line.partition("=")
            if key == "out_time_us":
                try:
                    us = int(val)
                except ValueError:
                    continue
                if us <= 0:
                    continue
                self.out_time = us / 1e6
                cand = now - self.out_time
                if self.t0 is None or cand < self.t0:
                    self.t0 = cand
            elif key == "speed":
                try:
                    self.speed = float(val.rstrip("x"))
                    self.speeds.append((now, self.speed))
                except ValueError:
                    pass
            elif key == "drop_frames":
                try:
                    self.drop = int(val)
                except ValueError:
                    pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, kill: bool = False) -> None:
        import signal
        OWNED.stop(self.proc, grace=5.0, sig=signal.SIGKILL if kill else signal.SIGTERM)


class ConnectRelay:
    """A loopback TCP relay in front of an RTMP port that records when the publisher connects.
    The same relay stands in front of both peers, so its (sub-millisecond) cost is equal."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connects: list[float] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connects.append(time.time())
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self.sock.close()
