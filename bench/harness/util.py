"""Shared helpers: owned processes, /proc sampling, HTTP probes, statistics, logging.

Every process the bench starts goes through `Owned` and is stopped by it (by pid, never by name).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(msg: str) -> None:
    print(f"\033[1;35mbench\033[0m {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


class HarnessError(RuntimeError):
    """The bench itself is broken (not: a target missed or a peer that cannot start)."""


class NotMeasured(RuntimeError):
    """A figure cannot be taken in this run; the reason goes into the table."""


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free loopback port not handed out before in this run: the kernel may give a port just
    closed out again at once, and two services given the same one would collide."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port: int, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if proc is not None and proc.poll() is not None:
            raise NotMeasured(f"{what} exited with {proc.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            raise NotMeasured(f"{what} did not listen on {port} within {timeout:.0f} s")
        time.sleep(0.1)


def http_get(url: str, timeout: float = 2.0, method: str = "GET") -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, b""


def wait_http(url: str, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status, _ = http_get(url)
        if 200 <= status < 300:
            return
        if proc is not None and proc.poll() is not None:
            raise NotMeasured(f"{what} exited with {proc.returncode} before {url} answered")
        if time.monotonic() > deadline:
            raise NotMeasured(f"{what} not ready at {url} within {timeout:.0f} s")
        time.sleep(0.2)


class Owned:
    """Processes started by the bench; stop() ends them (SIGTERM, then SIGKILL), and only them."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.lock = threading.Lock()

    def start(self, name: str, argv: list[str], log_path: Path | None = None, env: dict | None = None,
              stdout=None, stdin=subprocess.DEVNULL, cwd: str | None = None) -> subprocess.Popen:
        out = stdout
        logf = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            logf = open(log_path, "ab")
            if out is None:
                out = logf
        p = subprocess.Popen(argv, stdin=stdin, stdout=out if out is not None else subprocess.DEVNULL,
                             stderr=logf if logf is not None else subprocess.DEVNULL, env=env, cwd=cwd,
                             start_new_session=True)
        if logf is not None:
            logf.close()
        with self.lock:
            self.procs.append((name, p))
        return p

    def stop(self, p: subprocess.Popen, grace: float = 5.0, sig: int = signal.SIGTERM) -> None:
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        with self.lock:
            self.procs = [(n, q) for n, q in self.procs if q is not p]

    def stop_all(self) -> None:
        with self.lock:
            procs = list(reversed(self.procs))
        for _, p in procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 8
        for _, p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        with self.lock:
            self.procs = []


OWNED = Owned()


# ---------------------------------------------------------------- /proc sampling

def proc_cpu_rss(pid: int) -> tuple[float, int] | None:
    """(utime+stime in seconds, VmRSS in bytes) of one process, children excluded."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
        return cpu, rss
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


def children_of(pid: int) -> list[int]:
    """Direct children (all threads' children files)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                txt = Path(f"/proc/{pid}/task/{task}/children").read_text()
                out.extend(int(x) for x in txt.split())
            except FileNotFoundError:
                pass
    except FileNotFoundError:
        pass
    return sorted(set(out))


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def cmdline(pid: int) -> list[str]:
    try:
        return [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except FileNotFoundError:
        return []


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for c in children_of(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


class CpuWindow:
    """CPU seconds and peak/end RSS of a set of processes over a window. `pids` is a callable so
    processes that come and go (ffmpeg children) are re-read at each sample; CPU of a process that
    ended inside the window is counted up to its last sample."""

    def __init__(self, pids_fn, interval: float = 0.5) -> None:
        self.pids_fn = pids_fn
        self.interval = interval
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.rss: dict[int, int] = {}
        self.stop_ev = threading.Event()
        self.t0 = self.t1 = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in self.pids_fn():
            s = proc_cpu_rss(pid)
            if s is None:
                continue
            self.first.setdefault(pid, s[0])
            self.last[pid] = s[0]
            self.rss[pid] = s[1]

    def _run(self) -> None:
        while not self.stop_ev.wait(self.interval):
            self._sample()

    def __enter__(self):
        self.t0 = time.monotonic()
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.thread.join()
        self._sample()
        self.t1 = time.monotonic()

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0

    @property
    def cpu_fraction(self) -> float:
        """Fraction of one core used over the window (1.0 = one whole core)."""
        used = sum(self.last[p] - self.first[p] for p in self.last)
        return used / self.seconds if self.seconds > 0 else 0.0

    @property
    def rss_total(self) -> int:
        return sum(self.rss.values())

    @property
    def nprocs(self) -> int:
        return len(self.rss)


def machine_cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies from /proc/stat, for machine load during a window."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    vals = [int(x) for x in parts]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


# ---------------------------------------------------------------- statistics

def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, q: float):
    """Nearest-rank percentile, q in [0, 100]."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b
