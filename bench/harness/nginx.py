"""nginx-rtmp, the peer, started by the bench with its own generated config, prefix, pid file and
logs, on loopback ports, in the foreground (`daemon off;`).

Two instances:
- `NginxRtmp`: one worker by default (nginx-rtmp's documented setup for live; more workers need
  rtmp_auto_push relays for RTMP playback); the capacity ramp also runs a second instance with one
  worker per core, since `hls on` writes each stream in the worker that took it and needs no
  relay. RTMP applications `live` (`hls on`, remux only) and `ladder`
  (`exec_push` of ffmpeg with the same ladder arguments ferrocast uses), plus an http server that
  serves the HLS it writes (what a viewer or a CDN would pull).
- `NginxStatic`: plain nginx, `worker_processes auto`, serving HLS directories as static files:
  the yardstick for HLS serving.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import ladder
from util import OWNED, NotMeasured, free_port, http_get, wait_port

NGINX = "/usr/sbin/nginx"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


def version() -> str:
    if not Path(NGINX).exists():
        return "nginx not installed"
    r = subprocess.run([NGINX, "-v"], capture_output=True, text=True)
    v = (r.stderr or r.stdout).strip().split("/")[-1]
    rtmp = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libnginx-mod-rtmp"], capture_output=True, text=True)
    return f"nginx {v} + libnginx-mod-rtmp {rtmp.stdout.strip() or '?'}"


TYPES = """
        types {
            application/vnd.apple.mpegurl m3u8;
            video/mp2t ts;
            video/mp4 mp4 m4s;
        }"""


class _Nginx:
    def __init__(self, workdir: Path, name: str) -> None:
        self.dir = workdir / name
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        self.name = name
        self.proc: subprocess.Popen | None = None

    def _start(self, conf: str, wait_ports: list[int]) -> None:
        for need in (NGINX, RTMP_MODULE) if "load_module" in conf else (NGINX,):
            if not Path(need).exists():
                raise NotMeasured(f"{need} is not installed (apt-get install nginx libnginx-mod-rtmp)")
        path = self.dir / "nginx.conf"
        path.write_text(conf)
        test = subprocess.run([NGINX, "-t", "-p", str(self.dir), "-c", str(path)], capture_output=True, text=True)
        if test.returncode != 0:
            raise NotMeasured(f"{self.name}: nginx -t failed: {test.stderr.strip()[-300:]}")
        self.proc = OWNED.start(self.name, [NGINX, "-p", str(self.dir), "-c", str(path)],
                                log_path=self.dir / "logs" / "stderr.log")
        for p in wait_ports:
            wait_port(p, 15, self.name, self.proc)

    def master_pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        from util import children_of, comm
        return [c for c in children_of(self.master_pid()) if comm(c).startswith("nginx")]

    def stop(self) -> None:
        if self.proc is not None:
            OWNED.stop(self.proc, grace=8)
            self.proc = None

    def error_log_tail(self, n: int = 20) -> str:
        p = self.dir / "logs" / "error.log"
        return "\n".join(p.read_text(errors="replace").splitlines()[-n:]) if p.exists() else ""


def _user_line() -> str:
    return "user root;" if os.geteuid() == 0 else ""


class NginxRtmp(_Nginx):
    def __init__(self, workdir: Path, segment_seconds: float, window: int,
                 workers: int = 1, name: str = "nginx-rtmp") -> None:
        super().__init__(workdir, name)
        self.workers = workers
        self.segment = segment_seconds
        self.window = window
        self.rtmp_port = free_port()
        self.http_port = free_port()
        self.hls = self.dir / "hls"
        for app in ("live", "ladder"):
            (self.hls / app).mkdir(parents=True, exist_ok=True)
            os.chmod(self.hls / app, 0o777)  # exec_push children may run as nobody (MEDIA-NOTES 5)
        self.ladder_script = self.dir / "ladder.sh"

    def write_ladder_script(self) -> None:
        """exec_push target: the ladder ffmpeg reading the stream back from this server. A script
        only so that the ladder's arguments need no nginx quoting; it `exec`s ffmpeg (same pid).
        The x264 rungs' arguments are the ingest's own (the bench checks its mirror against the
        ingest's live ffmpeg, see main.py); the copied rung, which the ingest remuxes in-process,
        is one more `-c:v copy` output of the same ffmpeg here: nginx-rtmp's `hls on` cannot join
        a ladder. nginx-rtmp reads the script at each publish, so it can be rewritten between
        streams."""
        url = f"rtmp://127.0.0.1:{self.rtmp_port}/ladder/$1"
        out = f"{self.hls}/ladder/$1"
        argv = ["ffmpeg"] + ladder.ladder_args(ladder.INGEST_INPUT + ["-i", url], out,
                                               self.segment, self.window, master=True)
        self.ladder_source = ("bench/harness/ladder.py's mirror of crates/media/src/ladder/argv.rs: "
                              "the ingest's x264 rungs plus a `-c:v copy` rung")
        # shlex.quote would freeze $1 inside single quotes: args that contain $1 go in double quotes.
        parts = []
        for a in argv:
            if "$1" in a:
                parts.append('"' + a.replace('"', '\\"') + '"')
            else:
                parts.append(shlex.quote(a))
        quoted = " ".join(parts)
        tmp = self.ladder_script.with_suffix(".tmp")
        tmp.write_text(
            "#!/bin/sh\n# generated by bench: the ABR ladder for one nginx-rtmp stream\n"
            f'mkdir -p "{self.hls}/ladder/$1"\n'
            f"exec {quoted} 2>>\"{self.dir}/logs/ladder-$1.log\"\n")
        tmp.chmod(0o755)
        tmp.rename(self.ladder_script)

    def start(self) -> None:
        self.write_ladder_script()
        seg = f"{self.segment:g}s"
        length = f"{self.segment * self.window:g}s"
        conf = f"""
daemon off;
master_process on;
worker_processes {self.workers};
{_user_line()}
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
load_module {RTMP_MODULE};
events {{ worker_connections 4096; }}
rtmp {{
    server {{
        listen 127.0.0.1:{self.rtmp_port};
        chunk_size 4096;
        application live {{
            live on;
            record off;
            hls on;
            hls_path {self.hls}/live;
            hls_nested on;
            hls_fragment {seg};
            hls_playlist_length {length};
            hls_cleanup on;
        }}
        application ladder {{
            live on;
            record off;
            wait_key on;
            wait_video on;
            exec_push {self.ladder_script} $name;
        }}
    }}
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{self.http_port};
        location /hls/ {{
            alias {self.hls}/;
{TYPES}
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }}
    }}
}}
"""
        self._start(conf, [self.rtmp_port, self.http_port])

    def publish_url(self, app: str, name: str, port: int | None = None) -> str:
        return f"rtmp://127.0.0.1:{port or self.rtmp_port}/{app}/{name}"

    def playlist_url(self, app: str, name: str) -> str:
        """`live`: nginx's own media playlist (no master in remux mode); `ladder`: the master."""
        base = f"http://127.0.0.1:{self.http_port}/hls"
        return f"{base}/live/{name}/index.m3u8" if app == "live" else f"{base}/ladder/{name}/master.m3u8"

    def ladder_children(self) -> list[int]:
        """ffmpeg processes started by exec_push (children of the worker)."""
        from util import comm, descendants
        out = []
        for w in self.worker_pids():
            out += [p for p in descendants(w) if comm(p) == "ffmpeg"]
        return out


class NginxStatic(_Nginx):
    def __init__(self, workdir: Path, roots: dict[str, Path]) -> None:
        super().__init__(workdir, "nginx-static")
        self.port = free_port()
        self.roots = roots

    def start(self) -> None:
        locs = "".join(f"""
        location /{name}/ {{
            alias {root}/;
{TYPES}
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }}""" for name, root in self.roots.items())
        conf = f"""
daemon off;
master_process on;
worker_processes auto;
{_user_line()}
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{self.port};{locs}
    }}
}}
"""
        self._start(conf, [self.port])

    def url(self, name: str, rel: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/{rel}"


def check_http(url: str) -> bool:
    return http_get(url)[0] == 200
