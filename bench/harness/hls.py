"""HLS playlists: parsing, and a poller that records when each segment first appears.

Both peers are read the same way: over HTTP from the server that would serve viewers
(nginx's `location` for nginx-rtmp, the ingest origin for ferrocast), polled every 20 ms.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from util import NotMeasured, http_get


@dataclass
class MediaPlaylist:
    media_sequence: int = 0
    target_duration: float = 0.0
    segments: list[tuple[int, float, str]] = field(default_factory=list)  # (seq, duration, uri)
    endlist: bool = False
    discontinuities: set[int] = field(default_factory=set)  # sequence numbers marked discontinuous


def parse_media(text: str) -> MediaPlaylist:
    pl = MediaPlaylist()
    seq = None
    dur = None
    disc = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            pl.media_sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            pl.target_duration = float(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            dur = float(line.split(":", 1)[1].split(",")[0])
        elif line.startswith("#EXT-X-DISCONTINUITY") and not line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE"):
            disc = True
        elif line.startswith("#EXT-X-ENDLIST"):
            pl.endlist = True
        elif line and not line.startswith("#") and dur is not None:
            if seq is None:
                seq = pl.media_sequence
            pl.segments.append((seq, dur, line))
            if disc:
                pl.discontinuities.add(seq)
                disc = False
            seq += 1
            dur = None
    return pl


def parse_master(text: str) -> list[str]:
    """Variant playlist URIs of a master playlist; [] when `text` is a media playlist."""
    out, want = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-STREAM-INF"):
            want = True
        elif want and line and not line.startswith("#"):
            out.append(line)
            want = False
    return out


def fetch(url: str, timeout: float = 2.0) -> str | None:
    status, body = http_get(url, timeout=timeout)
    return body.decode(errors="replace") if status == 200 else None


def playable_variants(master_url: str, get=None) -> list[str] | None:
    """One check: the variant URLs once the master playlist exists and every variant lists >= 1
    complete segment, else None. A media playlist given as `master_url` counts as its own single
    variant (nginx-rtmp `hls on` writes no master). `get(url)` returns a playlist's text or None
    (default: a fresh HTTP request)."""
    get = get or (lambda u: fetch(u, timeout=1.0))
    text = get(master_url)
    if text is None or "#EXTM3U" not in text:
        return None
    variants = parse_master(text)
    if not variants:
        return [master_url] if parse_media(text).segments else None
    urls = [urljoin(master_url, v) for v in variants]
    for u in urls:
        t = get(u)
        if t is None or not parse_media(t).segments:
            return None
    return urls


def wait_playable(master_url: str, deadline: float, poll: float = 0.02) -> tuple[float, list[str]]:
    """Polls until the stream is playable (see `playable_variants`). Returns (time.time() when
    first seen playable, variant URLs)."""
    while time.monotonic() < deadline:
        urls = playable_variants(master_url)
        if urls is not None:
            return time.time(), urls
        time.sleep(poll)
    raise TimeoutError(f"{master_url} not playable in time")


class SegmentWatcher:
    """Polls one media playlist and records, per media sequence number, the wall time the segment
    was first listed and its duration."""

    def __init__(self, url: str, poll: float = 0.02) -> None:
        self.url = url
        self.poll = poll
        self.first_seen: dict[int, float] = {}
        self.duration: dict[int, float] = {}
        self.first_sequence_seen: int | None = None
        self.discontinuities: set[int] = set()
        self.ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SegmentWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            text = fetch(self.url, timeout=1.0)
            self.record(text, time.time())
            self._stop.wait(self.poll)

    def record(self, text: str | None, now: float) -> None:
        """Takes in one poll of the playlist (None: no answer) made at wall time `now`."""
        if text is not None and "#EXTINF" in text:
            pl = parse_media(text)
            self.discontinuities |= pl.discontinuities
            self.ended = pl.endlist
            for seq, dur, _ in pl.segments:
                if seq not in self.first_seen:
                    if self.first_sequence_seen is None:
                        self.first_sequence_seen = seq
                    self.first_seen[seq] = now
                    self.duration[seq] = dur

    def breaks(self) -> int:
        """Discontinuities after the stream's first segment (nginx-rtmp marks its first one)."""
        return len([s for s in self.discontinuities if s != self.first_sequence_seen])

    def media_listed(self) -> float:
        return sum(self.duration.values())

    def availability_latencies(self, t0: float, frame: float) -> list[float]:
        """For each segment counted from the stream's first one (sequence 0 must have been seen):
        listed time minus capture time of its last frame, where the frame with PTS p (relative to
        the first frame) was captured at t0 + p. [] when the start of the stream was missed."""
        if not self.first_seen:
            return []
        seqs = sorted(self.first_seen)
        if seqs[0] != self.first_sequence_seen or self.first_sequence_seen not in (0, 1):
            return []
        out, end = [], 0.0
        for s in seqs:
            end += self.duration[s]
            out.append(self.first_seen[s] - (t0 + end - frame))
        return out


def first_video_pts(media: bytes | Path) -> tuple[float, float] | None:
    """(PTS in s of the first video packet in decode order, the container's start_time in s) of a
    media file or of an MPEG-TS segment's bytes, by ffprobe. The PTS is the raw one of the
    container (MPEG-TS: the server's 90 kHz clock, no offset removed). None when ffprobe finds no
    video packet."""
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
            "-show_entries", "packet=pts_time:format=start_time", "-of", "json"]
    path = isinstance(media, Path)
    try:
        r = subprocess.run(argv + [str(media) if path else "-"], input=None if path else media,
                           capture_output=True, timeout=20)
        out = json.loads(r.stdout or b"{}")
        pts = float(out["packets"][0]["pts_time"])
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, IndexError):
        return None
    try:
        start = float(out.get("format", {}).get("start_time", 0.0))
    except ValueError:
        start = 0.0
    return pts, start


def stream_start_pts(media_url: str, gop: float, deadline: float, poll: float = 0.1) -> tuple[float, float]:
    """(server PTS in s of the stream's first source frame, first video PTS of segment 0) of one
    variant. Call it when the stream becomes playable, while segment 0 is surely listed; as for
    SegmentWatcher, the first listed segment must be sequence 0 or 1, else the start was missed.

    Segment 0's own first PTS is not always the source's first frame: ffmpeg's x264 rungs (constant
    frame rate output, filled from its zero) open one or two frames earlier. Segment 1 opens on a
    source keyframe in every rung (the copy rung cuts at them, the x264 rungs force theirs there), n
    whole source GOPs after the first frame, so the anchor is segment 1's PTS - n GOPs. Polls (up to
    `deadline`, monotonic) until segment 1 is listed. Raises NotMeasured."""
    first: tuple[int, str] | None = None
    second: str | None = None
    while second is None and time.monotonic() < deadline:
        text = fetch(media_url, timeout=1.0)
        segs = parse_media(text).segments if text is not None else []
        if first is None and segs:
            if segs[0][0] not in (0, 1):
                raise NotMeasured(f"the stream's first segment was missed (first listed is sequence {segs[0][0]})")
            first = (segs[0][0], segs[0][2])
        second = next((uri for seq, _, uri in segs if first is not None and seq == first[0] + 1), None)
        if second is None:
            time.sleep(poll)
    if first is None or second is None:
        raise NotMeasured(f"{media_url} did not list its first two segments in time")
    p0, p1 = (segment_first_pts(urljoin(media_url, uri)) for uri in (first[1], second))
    n = round((p1 - p0) / gop)
    if n < 1 or abs(p1 - p0 - n * gop) > 0.15:
        raise NotMeasured(f"segment 1 does not open on a source keyframe ({p1 - p0:.3f} s after segment 0)")
    return p1 - n * gop, p0


def segment_first_pts(url: str) -> float:
    """First video PTS (s) of one MPEG-TS segment, fetched over HTTP. Raises NotMeasured."""
    status, body = http_get(url, timeout=5.0)
    if status != 200 or not body:
        raise NotMeasured(f"{url}: HTTP {status}")
    got = first_video_pts(body)
    if got is None:
        raise NotMeasured(f"ffprobe found no video PTS in {url}")
    return got[0]
