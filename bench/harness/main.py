"""ferrocast vs nginx-rtmp, side by side (issue 7). Entry point: bench/run [--smoke] [options].

Exit status: 0 when the harness ran to the end, whatever the figures (a missed target or a peer
that cannot start is reported in the table, not as a failure); 1 only when the harness itself
broke; 2 for bad options.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog  # noqa: E402
import ferro  # noqa: E402
import ladder  # noqa: E402
import measures as M  # noqa: E402
import nginx  # noqa: E402
import thumbnails  # noqa: E402
from report import Report  # noqa: E402
from source import source_file  # noqa: E402
from util import OWNED, NotMeasured, log  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
SECTIONS = ("publish", "player", "capacity", "serving", "auth", "abr", "profile", "catalog", "playback", "vod",
            "queue", "thumbnails", "recording")
SMOKE_SECTIONS = ("publish", "player", "capacity", "serving", "auth", "abr", "catalog", "playback", "vod", "queue",
                  "thumbnails", "recording")


def sh(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def context(rep: Report, args, sz: M.Sizes, ferro_profile: str) -> None:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    chromium = sh(["/usr/bin/chromium", "--version"]) if Path("/usr/bin/chromium").exists() else "absent"
    hlsjs = ROOT / "frontend" / "node_modules" / "hls.js" / "package.json"
    hv = __import__("json").loads(hlsjs.read_text())["version"] if hlsjs.exists() else "absent"
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = " (+ uncommitted changes in the tree)" if sh(["git", "-C", str(ROOT), "status", "--porcelain",
                                                          "--", "services", "proto"]) else ""
    rep.context += [
        ("date", dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("run", "smoke (tiny sizes: figures are a sanity check, not results)" if sz.smoke
         else f"full, sections {args.only} only (`bench/run --only {args.only}`)" if args.only else "full"),
        ("machine", f"{os.cpu_count()} × {cpu}, {mem} MiB RAM, {platform.platform()}"),
        ("load average at start", " ".join(Path("/proc/loadavg").read_text().split()[:3])
         + " (the machine is shared; figures taken under load are noisy)"),
        ("ferrocast", f"commit {commit}{dirty}, {ferro_profile} build"),
        ("peer", nginx.version() + ", 1 worker for RTMP (nginx-rtmp's live setup)"),
        ("tools", f"{sh(['ffmpeg', '-version']).splitlines()[0] if shutil.which('ffmpeg') else 'ffmpeg absent'}; "
                  f"{chromium}; hls.js {hv}; {sh(['wrk', '-v']).splitlines()[0] if shutil.which('wrk') else 'wrk absent'}"),
        ("settings (both peers)", f"{args.segment_seconds} s segments, window {args.window} segments; "
                                  f"ladder {ladder.describe()}; passthrough = ferrocast with `FERROCAST_HLS_LADDER=` "
                                  "(copy rung only) vs nginx-rtmp `hls on`; ABR = ferrocast default vs nginx-rtmp "
                                  "`exec_push` of the same ffmpeg arguments"),
        ("ferrocast settings for the bench", f"`FERROCAST_INGEST_MAX_CONNECTIONS_PER_IP={connection_lift(sz)[0]}` "
                                             "(every publisher comes from 127.0.0.1; the default cap of 16 per "
                                             "address would cap capacity)" + operator_settings()),
        ("source", "pre-encoded 1280×720 30 fps H.264 High 2.5 Mb/s, 1 s GOP, AAC 128k, sent with "
                   "`ffmpeg -re -c copy -f flv` (the same file for both peers); the capacity ramp sends it from "
                   "one `rtmp-fleet` process (bench/rtmp-fleet) at the same pace"),
    ]


def operator_settings() -> str:
    """`FERROCAST_*` settings the bench was started with (they reach every service it starts), so a
    run with a non-default setting says so in its results. Names that may hold a credential (a
    secret, token, password, key or URL) are left out: results files are published."""
    own = {"FERROCAST_SECANTUSD"}
    private = ("SECRET", "TOKEN", "PASSWORD", "KEY", "URL")
    given = sorted(f"`{k}={v}`" for k, v in os.environ.items()
                   if k.startswith("FERROCAST_") and k not in own and not k.startswith("FERROCAST_TEST_")
                   and not any(word in k for word in private))
    return f"; from the environment: {', '.join(given)}" if given else ""


def per_core_peer(work: Path, seg: float, window: int):
    """nginx-rtmp with one worker per core, for the capacity ramp only: `hls on` writes each stream
    in the worker that accepted it, so passthrough HLS needs no rtmp_auto_push relay between
    workers, and this is nginx-rtmp's best setup for that job. (RTMP playback and the exec_push
    ladder, which reads the stream back over RTMP, would need the relay: the other sections keep
    the one-worker setup.) Returns its side, or why it could not start."""
    wide = nginx.NginxRtmp(work, seg, window, workers=os.cpu_count() or 1, name=M.PER_CORE)
    try:
        wide.start()
    except NotMeasured as e:
        return f"not measured: {e}"
    return M.NginxSide(wide)


def connection_lift(sz: M.Sizes) -> tuple[int, int]:
    """The ingest's connection caps for the bench (per address, total): all publishers come from
    127.0.0.1, so the per-address cap sits above the ramp's top step, with room for connections
    still closing: at exactly the top (it was a fixed 1 000), one of them would refuse a new
    publisher and fail the step for a reason that is the bench's, not the server's."""
    top = max(sz.steps)
    return top + max(100, top // 5), 2 * top + 200


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes and durations (< ~3 min), for CI")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--segment-seconds", type=int, default=ladder.DEFAULT_SEGMENT)
    ap.add_argument("--window", type=int, default=ladder.DEFAULT_WINDOW)
    ap.add_argument("--no-ferrocast", action="store_true", help="measure nginx-rtmp only")
    ap.add_argument("--no-build", action="store_true", help="full run: do not run cargo build --release first")
    ap.add_argument("--out", default="", help="results file (default: bench/results/<date>.md, smoke: bench/results/tmp/)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, HLS) for inspection")
    ap.add_argument("--steps", default="",
                    help="capacity ramp steps, comma-separated (default: the full ramp to 1000); "
                         "e.g. 1,10,50 measures only the CPU and memory per stream, in ≈ 12 min")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s) {bad}; known: {SECTIONS}")
    sections = only or list(SMOKE_SECTIONS if args.smoke else SECTIONS)
    sz = M.SMOKE if args.smoke else M.FULL
    if args.steps:
        try:
            steps = tuple(sorted({int(k) for k in args.steps.split(",")}))
        except ValueError:
            ap.error(f"--steps takes whole numbers: {args.steps!r}")
        if not steps or steps[0] < 1:
            ap.error("--steps needs at least one step of 1 or more")
        sz = dataclasses.replace(sz, steps=steps, resource_ks=tuple(k for k in sz.resource_ks if k in steps))
    seg, window = args.segment_seconds, args.window

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    work = Path(tempfile.mkdtemp(prefix="ferrocast-bench-"))
    logs = work / "logs"
    logs.mkdir()
    rep = Report()
    harness_broke = False
    started = time.monotonic()
    ferro_profile = "not started"
    fc = None
    profiles: list = []
    try:
        src = source_file(BENCH / ".cache")
        # ------------------------------------------------------------------ peers
        sides: dict = {}
        # The catalogue, playback, VOD and queue sections start what they measure themselves:
        # alone, they need neither peer.
        needs_peers = any(s not in ("catalog", "playback", "vod", "queue", "recording") for s in sections)
        ngx = nginx.NginxRtmp(work, seg, window)
        if needs_peers:
            try:
                ngx.start()
                sides["nginx-rtmp"] = M.NginxSide(ngx)
            except NotMeasured as e:
                sides["nginx-rtmp"] = f"not measured: {e}"
        fc = None
        ferro_err = "not measured: --no-ferrocast"
        needs_media = any(s in sections for s in ("publish", "player", "capacity", "serving", "profile", "thumbnails"))
        if not needs_peers:
            if not args.smoke and not args.no_build:
                try:
                    ferro.build_release()
                except NotMeasured as e:
                    rep.note(f"{e}; the catalogue and VOD sections measure what target/release holds")
        elif not args.no_ferrocast:
            try:
                if not args.smoke and not args.no_build:
                    ferro.build_release()
                fc = ferro.Ferrocast(work, seg, window, allow_debug=args.smoke)
                ferro_profile = fc.profile
                fc.start_core()
                # made up front so signups (argon2) do not run inside a measurement; more on demand
                n_streamers = (2 * sz.runs + len(sz.player_modes) + max(sz.steps) + 2) if needs_media else 1
                fc.make_streamers(n_streamers)
                ferro_err = None
            except NotMeasured as e:
                ferro_err = f"not measured: {e}"
                log(ferro_err)
                fc = fc if fc is not None and "users" in fc.procs and fc.users else None
            if fc is not None and ferro_err is None and needs_media:
                try:
                    # All bench publishers come from 127.0.0.1: lift the per-IP connection cap (16 by
                    # default, a protection against one abusive address) so it does not cap capacity.
                    per_ip, total = connection_lift(sz)
                    lift = {"FERROCAST_INGEST_MAX_CONNECTIONS_PER_IP": str(per_ip),
                            "FERROCAST_INGEST_MAX_CONNECTIONS": str(total)}
                    modes = {"copy": {"FERROCAST_HLS_LADDER": "", **lift}, "ladder": lift}
                    if "thumbnails" in sections:
                        modes["thumbs"] = {**lift, **thumbnails.ingest_env()}
                    fc.start_media(modes)
                    sides["ferrocast"] = M.FerroSide(fc)
                except NotMeasured as e:
                    sides["ferrocast"] = f"not measured: {e}"
                    log(sides["ferrocast"])
            elif needs_media:
                sides["ferrocast"] = ferro_err
        else:
            sides["ferrocast"] = ferro_err
        # fixed order in tables: ferrocast first
        sides = {k: sides[k] for k in ("ferrocast", "nginx-rtmp") if k in sides}
        context(rep, args, sz, ferro_profile + (" (debug: figures not representative)" if ferro_profile == "debug" else ""))
        if fc is not None and fc.profile == "debug":
            rep.note("ferrocast ran from target/debug (no release build present): its figures are not representative.")

        streams = M.Streams()
        cache: dict = {}
        profiles: list = []
        ingest_argv = None
        if isinstance(sides.get("ferrocast"), M.FerroSide):
            log("reading the ingest's ladder command line (one probe publish)")
            ingest_argv = M.probe_ingest_argv(sides["ferrocast"], src, logs, streams)
        if isinstance(sides.get("nginx-rtmp"), M.NginxSide):
            ngx.write_ladder_script()
            if ingest_argv:
                x264_only = ladder.ladder_args(ladder.INGEST_INPUT + ["-i", "x"], "/o", seg, window, copy_rung=False)
                d = ladder.diff_with(ingest_argv, x264_only)
                if d:
                    rep.note(f"The bench's ladder mirror differs from the ingest's live ffmpeg (nginx-rtmp's ladder is not the same): {d}")
        if needs_peers:
            rep.note(f"nginx-rtmp exec_push ladder: {ngx.ladder_source}.")
        statics = None
        for section in sections:
            log(f"== {section}")
            t = time.monotonic()
            if section == "abr":
                M.measure_abr(rep, sz, src, work, seg, window, ingest_argv)
            elif section == "publish":
                M.measure_publish(rep, sides, sz, src, logs, streams, seg, cache)
                M.ladder_resources(rep, cache)
            elif section == "player":
                M.measure_player(rep, sides, sz, src, logs, streams, seg, cache)
            elif section == "capacity":
                wide = per_core_peer(work, seg, window)
                try:
                    M.measure_capacity(rep, sides, sz, src, logs, streams, seg, wide)
                finally:
                    if isinstance(wide, M.NginxSide):
                        wide.n.stop()  # only the ramp uses it: its workers must not idle through later sections
            elif section == "serving":
                if statics is None:
                    roots = {"nx-hls": ngx.hls}
                    if isinstance(sides.get("ferrocast"), M.FerroSide):
                        roots["fc-hls"] = fc.ingests["copy"].hls_root
                    statics = nginx.NginxStatic(work, roots)
                    try:
                        statics.start()
                    except NotMeasured as e:
                        rep.add("5 HLS serving", "all", f"not measured: {e}", f"not measured: {e}")
                        continue
                M.measure_serving(rep, sides, sz, src, logs, streams, statics, fc)
            elif section == "profile":
                profiles = M.measure_profile(rep, sides, sz, src, logs, streams, fc if ferro_err is None else None, work)
            elif section == "auth":
                M.measure_auth(rep, fc if ferro_err is None else None, sz, ferro_err)
            elif section == "catalog":
                catalog.measure_catalog(rep, args.smoke, logs)
            elif section == "playback":
                catalog.measure_playback(rep, args.smoke, logs)
            elif section == "vod":
                catalog.measure_vod(rep, args.smoke, logs)
            elif section == "queue":
                catalog.measure_queue(rep, args.smoke, logs)
            elif section == "recording":
                catalog.measure_recording(rep, args.smoke, logs)
            elif section == "thumbnails":
                thumbnails.measure_thumbnails(rep, sides.get("ferrocast"), src, logs, streams.take()[0],
                                              20.0 if args.smoke else 60.0)
            log(f"== {section} done in {time.monotonic() - t:.0f} s")
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping what the bench started")
        harness_broke = True
    except Exception:  # noqa: BLE001 - anything unexpected is a harness bug: report it and fail
        harness_broke = True
        rep.note("HARNESS ERROR: " + traceback.format_exc().strip().replace("\n", " | ")[-1500:])
        traceback.print_exc()
    finally:
        try:
            if fc is not None:
                fc.stop()  # in reverse start order, so the ingest's publish_done reaches rooms
        finally:
            OWNED.stop_all()
    rep.context.append(("bench duration", f"{time.monotonic() - started:.0f} s"))
    title = "ferrocast vs nginx-rtmp" + (" — smoke run" if args.smoke else "")
    md = rep.markdown(title)
    if profiles:
        md += "\n## Profiles (perf, self time by shared object and symbol, ≥ 1.5 %)\n"
        for what, text in profiles:
            md += f"\n{what}:\n\n```\n{text}\n```\n"
    if args.out:
        out = Path(args.out)
    elif args.smoke or harness_broke:
        # bench/results keeps complete runs only: a run the harness could not finish is for
        # reading now, not a result to cite later.
        kind = "smoke" if args.smoke else "broken"
        out = BENCH / "results" / "tmp" / f"{kind}-{dt.datetime.now():%Y-%m-%d-%H%M%S}.md"
    else:
        # <date>.md for a full run, <date>-<sections>.md for a subset, then the time if taken.
        out = BENCH / "results" / f"{dt.date.today():%Y-%m-%d}{''.join('-' + s for s in only)}.md"
        if out.exists():
            out = out.with_name(f"{out.stem}-{dt.datetime.now():%H%M}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    print(md)
    log(f"results written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if args.keep:
        log(f"scratch kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if harness_broke else 0


if __name__ == "__main__":
    sys.exit(main())
