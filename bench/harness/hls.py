"""HLS playlists: parsing, and a poller that records when each segment first appears.

Both peers are read the same way: over HTTP from the server that would serve viewers
(nginx's `location` for nginx-rtmp, the ingest origin for ferrocast), polled every 20 ms.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

from util import http_get


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


def wait_playable(master_url: str, deadline: float, poll: float = 0.02) -> tuple[float, list[str]]:
    """Polls until the master playlist exists and every variant lists >= 1 complete segment.
    Returns (time.time() when first seen playable, variant URLs). A media playlist given as
    `master_url` counts as its own single variant (nginx-rtmp `hls on` writes no master)."""
    while time.monotonic() < deadline:
        text = fetch(master_url, timeout=1.0)
        if text is not None and "#EXTM3U" in text:
            variants = parse_master(text)
            if not variants:
                if parse_media(text).segments:
                    return time.time(), [master_url]
            else:
                urls = [urljoin(master_url, v) for v in variants]
                ok = True
                for u in urls:
                    t = fetch(u, timeout=1.0)
                    if t is None or not parse_media(t).segments:
                        ok = False
                        break
                if ok:
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
            now = time.time()
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
            self._stop.wait(self.poll)

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
