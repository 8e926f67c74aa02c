"""ferrocast as the bench runs it: users, rooms, gateway and two ingests (one with the default
transcoding ladder, one copy-only for the passthrough comparison) from `target/release`, on free
loopback ports, in a database and Redis key prefix of their own (as e2e/lib/platform.mjs does with
the debug build)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from util import OWNED, NotMeasured, free_port, log, port_open, wait_http, wait_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("users", "rooms", "ingest", "gateway")


def binaries(allow_debug: bool) -> tuple[Path, str]:
    """(bin dir, profile). Release is what the figures mean; a smoke run may fall back to the
    debug build CI has just made (its figures are then marked as such)."""
    for profile in ("release", "debug") if allow_debug else ("release",):
        d = ROOT / "target" / profile
        if all((d / f"ferrocast-{s}").is_file() for s in SERVICES):
            return d, profile
    missing = [s for s in SERVICES if not (ROOT / "target" / "release" / f"ferrocast-{s}").is_file()]
    raise NotMeasured(f"no built ferrocast binaries (target/release lacks {', '.join(missing)}; "
                      "`cargo build --release --bins` first)")


def build_release() -> None:
    log("cargo build --release --bins (incremental)")
    r = subprocess.run(["cargo", "build", "--release", "--locked", "--bins"], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=3600)
    if r.returncode != 0:
        raise NotMeasured("release build failed: " + r.stderr.strip().splitlines()[-1][:200] if r.stderr else "?")


def _json(method: str, url: str, body: dict | None = None, token: str | None = None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


class Ingest:
    def __init__(self, name: str, env: dict, workdir: Path) -> None:
        self.name = name
        self.http_port = free_port()
        self.rtmp_port = free_port()
        self.hls_root = workdir / f"hls-{name}"
        self.hls_root.mkdir(parents=True, exist_ok=True)
        self.env = dict(env)
        self.env.update({
            "FERROCAST_INGEST_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "FERROCAST_INGEST_ORIGIN_URL": f"http://127.0.0.1:{self.http_port}",
            "FERROCAST_INGEST_RTMP_ADDR": f"127.0.0.1:{self.rtmp_port}",
            "FERROCAST_HLS_ROOT": str(self.hls_root),
            # No catalogue runs beside these ingests: past broadcasts are off, and measured in
            # their own section (`recording`).
            "FERROCAST_INGEST_RECORDING_DIR": "",
        })
        self.proc: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def publish_url(self, key: str, port: int | None = None) -> str:
        return f"rtmp://127.0.0.1:{port or self.rtmp_port}/live/{key}"

    def master_url(self, username: str) -> str:
        return f"{self.origin}/hls/{username}/master.m3u8"

    def ffmpeg_children(self) -> list[int]:
        from util import comm, descendants
        return [p for p in descendants(self.proc.pid) if comm(p) == "ffmpeg"] if self.proc else []

    def session_dir(self, username: str) -> Path | None:
        """The folder the live session writes ({root}/{username}/{session_id}/)."""
        d = self.hls_root / username
        subs = sorted((p for p in d.glob("*") if p.is_dir() and (p / "master.m3u8").exists()),
                      key=lambda p: p.stat().st_mtime) if d.is_dir() else []
        return subs[-1] if subs else None


class Ferrocast:
    def __init__(self, workdir: Path, segment_seconds: int, window: int, allow_debug: bool) -> None:
        self.workdir = workdir / "ferrocast"
        self.logs = self.workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.bin, self.profile = binaries(allow_debug)
        self.segment = segment_seconds
        self.window = window
        self.run_id = secrets.token_hex(4)
        self.ports = {k: free_port() for k in ("users", "grpc", "rooms", "gateway")}
        self.service_token = secrets.token_hex(24)
        self.procs: dict[str, subprocess.Popen] = {}
        self.ingests: dict[str, Ingest] = {}
        self.users: list[tuple[str, str]] = []  # (username, stream key)
        self.store_pid: int | None = None

    # ------------------------------------------------------------------ dependencies
    def _document_store(self) -> str:
        """A document store of the bench's own (in memory), so its CPU can be reported beside the
        users service and no other test's data or warm cache is in it."""
        exe = os.environ.get("FERROCAST_SECANTUSD") or str(ROOT / ".ferrocast" / "venv" / "bin" / "secantusd-py")
        if not Path(exe).exists():
            raise NotMeasured("no document store: FERROCAST_TEST_MONGODB_URL unset and SecantusDB not installed "
                              "(./ferrocast setup)")
        port = free_port()
        p = OWNED.start("document-store", [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path",
                                           ":memory:", "--standalone", "--log-level", "WARNING"],
                        log_path=self.logs / "document-store.log")
        wait_port(port, 60, "SecantusDB", p)
        self.store_pid = p.pid
        return f"mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=2000"

    def _redis(self) -> str:
        url = os.environ.get("FERROCAST_TEST_REDIS_URL")
        if url:
            return url
        if port_open(6379):
            return "redis://127.0.0.1:6379"
        port = free_port()
        p = OWNED.start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                  "--appendonly", "no"], log_path=self.logs / "redis.log")
        wait_port(port, 20, "redis-server", p)
        return f"redis://127.0.0.1:{port}"

    # ------------------------------------------------------------------ services
    def start_core(self) -> None:
        """users + rooms (what the gRPC figure needs)."""
        p = self.ports
        self.env = {
            **os.environ,
            "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
            "FERROCAST_DEV_MODE": "true",
            "FERROCAST_COOKIE_SECURE": "false",
            "FERROCAST_SERVICE_TOKEN": self.service_token,
            "FERROCAST_JWT_SECRET": secrets.token_hex(32),
            "FERROCAST_MONGODB_URL": self._document_store(),
            "FERROCAST_MONGODB_DATABASE": f"bench_{self.run_id}",
            "FERROCAST_REDIS_URL": self._redis(),
            "FERROCAST_ROOMS_KEY_PREFIX": f"bench:{self.run_id}:",
            "FERROCAST_USERS_HTTP_ADDR": f"127.0.0.1:{p['users']}",
            "FERROCAST_USERS_GRPC_ADDR": f"127.0.0.1:{p['grpc']}",
            "FERROCAST_USERS_GRPC_URL": f"http://127.0.0.1:{p['grpc']}",
            "FERROCAST_ROOMS_HTTP_ADDR": f"127.0.0.1:{p['rooms']}",
            "FERROCAST_ROOMS_CALLBACK_URL": f"http://127.0.0.1:{p['rooms']}/callbacks/rtmp",
            "FERROCAST_HLS_SEGMENT_SECONDS": str(self.segment),
            "FERROCAST_HLS_PLAYLIST_WINDOW": str(self.window),
            "FERROCAST_GATEWAY_HTTP_ADDR": f"127.0.0.1:{p['gateway']}",
            # Readiness and metrics: unread here; port 0 keeps parallel runs apart.
            "FERROCAST_GATEWAY_INTERNAL_ADDR": "127.0.0.1:0",
            "FERROCAST_USERS_HTTP_URL": f"http://127.0.0.1:{p['users']}",
            "FERROCAST_ROOMS_HTTP_URL": f"http://127.0.0.1:{p['rooms']}",
            "FERROCAST_FRONTEND_DIR": str(ROOT / "frontend" / "dist"),
            # Every bench streamer signs up and gets its key from 127.0.0.1: the per-address
            # limits that stop a real attacker would stop the bench at its sixth streamer.
            "FERROCAST_USERS_SIGNUP_LIMIT_PER_ADDRESS": "100000/60",
            "FERROCAST_USERS_KEY_ROTATION_LIMIT_PER_ADDRESS": "100000/60",
            "FERROCAST_USERS_LOGIN_LIMIT_PER_ADDRESS": "100000/60",
        }
        for k in [k for k in self.env if k.startswith("FERROCAST_TEST_")]:
            self.env.pop(k)
        self._service("users", self.env, f"http://127.0.0.1:{p['users']}/readyz")
        self._service("rooms", self.env, f"http://127.0.0.1:{p['rooms']}/readyz")

    def start_media(self, ingest_modes: dict[str, dict]) -> None:
        """One ingest per mode (name -> extra env, e.g. {"copy": {"FERROCAST_HLS_LADDER": ""}}),
        then the gateway."""
        for name, extra in ingest_modes.items():
            ing = Ingest(name, {**self.env, **extra}, self.workdir)
            ing.proc = self._service("ingest", ing.env, f"{ing.origin}/readyz", label=f"ingest-{name}")
            self.ingests[name] = ing
        p = self.ports
        self._service("gateway", self.env, f"http://127.0.0.1:{p['gateway']}/healthz")

    def _service(self, name: str, env: dict, ready: str, label: str | None = None) -> subprocess.Popen:
        label = label or name
        proc = OWNED.start(label, [str(self.bin / f"ferrocast-{name}")], log_path=self.logs / f"{label}.log", env=env)
        self.procs[label] = proc
        try:
            wait_http(ready, 60, f"ferrocast {label}", proc)
        except NotMeasured as e:
            tail = (self.logs / f"{label}.log").read_text(errors="replace").strip().splitlines()[-3:]
            raise NotMeasured(f"{e}; log: {' | '.join(tail)[:300]}") from None
        return proc

    def stop(self) -> None:
        for label in reversed(list(self.procs)):
            OWNED.stop(self.procs[label], grace=8)
        self.procs.clear()

    def log_tail(self, label: str, n: int = 5) -> str:
        p = self.logs / f"{label}.log"
        return " | ".join(p.read_text(errors="replace").strip().splitlines()[-n:]) if p.exists() else ""

    # ------------------------------------------------------------------ streamers
    @property
    def users_api(self) -> str:
        return f"http://127.0.0.1:{self.ports['users']}/api/users"

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def make_streamers(self, n: int) -> list[tuple[str, str]]:
        """Signs up `n` streamers (beyond those already made) and creates their stream keys."""
        password = "bench-" + secrets.token_hex(8)
        t = time.monotonic()
        before = len(self.users)
        while len(self.users) < n:
            i = len(self.users)
            username = f"b{self.run_id}_{i}"
            st, body = _json("POST", self.users_api,
                             {"username": username, "email": f"{username}@bench.invalid", "password": password})
            if st not in (200, 201):
                raise NotMeasured(f"signup answered {st}: {str(body)[:200]}")
            st, body = _json("POST", f"{self.users_api}/login", {"login": username, "password": password})
            if st != 200:
                raise NotMeasured(f"login answered {st}: {str(body)[:200]}")
            token = body["access_token"]
            st, body = _json("POST", f"{self.users_api}/me/stream-key", {}, token=token)
            if st not in (200, 201):
                raise NotMeasured(f"stream-key answered {st}: {str(body)[:200]}")
            self.users.append((username, body["stream_key"]))
        if len(self.users) - before > 1:
            log(f"ferrocast: {len(self.users) - before} streamers signed up ({time.monotonic() - t:.1f} s)")
        return self.users[:n]
