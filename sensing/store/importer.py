"""Import a saved file (a device log, a capture) as a session, through the same decoders.

The file's bytes become the session's raw capture, cut into reads the way a port would deliver
them (a line each for text protocols, about a frame each for binary ones), so ``sotlog reparse``
decodes the very same reads again. A file has no arrival times; each read gets a synthetic one:

* ``device_time``: when the decoded frames carry the device's clock, a read arrives at the device
  time of the last frame it completes (relative to the first frame), never going backwards;
* ``uniform``: otherwise frame k arrives at ``k / rate`` (the profile's nominal rate, or given).

Which one was used is written into the session's device description. The file is read in
blocks, never whole, so a file of any size imports in bounded memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.errors import ProfileError, SotlogError, StoreError
from firmware_bridge.frames import Notice
from firmware_bridge.profiles import Profile
from firmware_bridge.protocols import make_decoder, read_size
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

BLOCK_BYTES = 1 << 20  # read from the file at a time
PROBE_BYTES = 4 << 20  # read ahead to learn whether frames carry device time
BACKLOG_BYTES = 32 << 20  # raw bytes handed to the recorder but not yet committed, at most
NOTICE_WINDOW_S = 1.0  # as the bridge: at most one notice per kind per second of session time
PROGRESS_BYTES = 16 << 20


def _lines(block: bytes) -> list[bytes]:
    return block.splitlines(keepends=True)


def _fixed(size: int) -> Callable[[bytes], list[bytes]]:
    def cut(block: bytes) -> list[bytes]:
        return [block[i:i + size] for i in range(0, len(block), size)]
    return cut


def splitter(profile: Profile) -> Callable[[bytes], list[bytes]]:
    """The function cutting a block of the file into reads, as a port hands them over: a line
    each for text protocols, one frame's size each for binary ones (the protocol says which)."""
    size = read_size(profile)
    return _lines if size is None else _fixed(size)


def reads(path: Path, cut: Callable[[bytes], list[bytes]]) -> Iterator[bytes]:
    """The file's bytes as reads; a piece cut short at a block's end joins the next block."""
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            if not block:
                break
            pieces = cut(carry + block)
            carry = pieces.pop() if pieces else b""
            yield from pieces
    if carry:
        yield carry


@dataclass
class ArrivalClock:
    """Synthetic arrival times (session seconds) of reads, from the frames each one completes."""

    mode: str  # "device_time" or "uniform"
    rate_hz: float
    now: float = 0.0
    frames: int = 0
    _first_device: float | None = None
    _last_device: float | None = None
    _shift: float = 0.0
    backward_steps: int = 0

    def advance(self, device_time: np.ndarray) -> float:
        """The arrival of a read that completed frames with these device times (maybe none)."""
        n = int(device_time.size)
        self.frames += n
        if not n:
            return self.now
        if self.mode == "uniform":
            self.now = max(self.now, (self.frames - 1) / self.rate_hz)
            return self.now
        finite = device_time[np.isfinite(device_time)]
        if not finite.size:  # frames without a clock among clocked ones: one frame period each
            self.now += n / self.rate_hz
            return self.now
        last = float(finite[-1])
        if self._first_device is None:
            self._first_device = self._last_device = float(finite[0])
        assert self._last_device is not None
        if last < self._last_device:  # the device clock went back (a restart): keep going on
            self.backward_steps += 1
            self._shift += self._last_device - last + n / self.rate_hz
        self._last_device = last
        self.now = max(self.now, last - self._first_device + self._shift)
        return self.now


class NoticeGate:
    """Passes the first notice of a kind, folds the rest of its window into one summary."""

    def __init__(self, emit: Callable[[Notice], None]) -> None:
        self.emit = emit
        self._held: dict[str, tuple[Notice, int, float]] = {}
        self._last: dict[str, float] = {}

    def add(self, notice: Notice) -> None:
        kind = notice.kind
        held = self._held.get(kind)
        if held is None and notice.host_time - self._last.get(kind, -1e18) >= NOTICE_WINDOW_S:
            self._last[kind] = notice.host_time
            self.emit(replace(notice, data={**notice.data, "count": 1}))
            return
        first, count, _ = held if held else (notice, 0, notice.host_time)
        self._held[kind] = (first, count + 1, notice.host_time)

    def tick(self, now: float, force: bool = False) -> None:
        for kind, (first, count, _) in list(self._held.items()):
            if force or now - self._last.get(kind, -1e18) >= NOTICE_WINDOW_S:
                more = f" (and {count - 1} more)" if count > 1 else ""
                self.emit(replace(first, detail=first.detail + more,
                                  data={**first.data, "count": count,
                                        "first_host_time": first.host_time}))
                del self._held[kind]
                self._last[kind] = now


@dataclass
class ImportResult:
    """What an import stored."""

    session_id: int
    path: str
    bytes: int
    reads: int
    frames: int
    timing: str
    rate_hz: float
    counters: dict[str, int] = field(default_factory=dict)
    unfinished_bytes: int = 0  # bytes at the end completing no frame (kept in the raw capture)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def probe_timing(path: Path, profile: Profile, rate_hz: float | None) -> tuple[str, float]:
    """``(mode, rate)``: device time when the first frames carry it, else uniform at ``rate``."""
    decoder = make_decoder(profile)
    with open(path, "rb") as fh:
        head = fh.read(PROBE_BYTES)
    out = decoder.feed(head, 0.0)
    clocked = out.frames is not None and bool(np.isfinite(out.frames.device_time).any())
    rate = rate_hz or profile.nominal_rate_hz
    if clocked:
        return "device_time", float(rate or 1.0)
    if rate is None:
        raise ProfileError(f"{path.name}: its frames carry no device time and profile "
                           f"{profile.name!r} has no nominal_rate_hz; give the rate (--rate)")
    return "uniform", float(rate)


def describe(path: Path, size: int, mode: str, rate: float) -> str:
    """The device description of an imported session: the file, and how times were made."""
    how = ("arrival times synthetic, from the device time column" if mode == "device_time"
           else f"arrival times synthetic, uniform at {rate:g} frames/s (no device time)")
    return f"imported file {path.name} ({size} bytes); {how}"


def import_file(store: Store, path: str | Path, profile: Profile, meta: SessionMeta, *,
                rate_hz: float | None = None, started_utc: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Decode ``path`` with ``profile`` into a new session of ``store``; its bytes are the raw."""
    src = Path(path)
    try:
        size = src.stat().st_size
    except OSError as err:
        raise SotlogError(f"cannot read {src}: {err.strerror}") from err
    if not src.is_file():
        raise SotlogError(f"{src} is not a file")
    mode, rate = probe_timing(src, profile, rate_hz)
    sid = store.create_session(meta, profile, port=src.resolve().as_uri(),
                               device=describe(src, size, mode, rate), t0_host=0.0, face="import",
                               started_utc=started_utc)
    recorder = Recorder(store, sid)
    try:
        result = _feed(src, profile, recorder, ArrivalClock(mode, rate), progress, size)
    except BaseException:
        recorder.close(status="interrupted")
        raise
    result.session_id = sid
    return result


def _feed(src: Path, profile: Profile, recorder: Recorder, clock: ArrivalClock,
          progress: Callable[[int, int], None] | None, size: int) -> ImportResult:
    probe, decoder = make_decoder(profile), make_decoder(profile)
    gate = NoticeGate(recorder.on_notice)
    fed = count = frames = 0
    now = 0.0
    next_report = PROGRESS_BYTES
    for piece in reads(src, splitter(profile)):
        ahead = probe.feed(piece, 0.0).frames
        now = clock.advance(ahead.device_time if ahead is not None else np.empty(0))
        recorder.on_raw(piece, now)
        out = decoder.feed(piece, now)
        if out.frames is not None and len(out.frames):
            frames += len(out.frames)
            recorder.on_frames(out.frames)
        for notice in out.notices:
            gate.add(notice)
        gate.tick(now)
        fed += len(piece)
        count += 1
        if fed - recorder.raw_bytes_written - recorder.not_stored["raw_bytes"] > BACKLOG_BYTES:
            _wait_for(recorder, fed)
        if progress and fed >= next_report:
            progress(fed, size)
            next_report = fed + PROGRESS_BYTES
    # What the file's end leaves unfinished is counted, as at the end of a recording (a cut:
    # nothing more is decoded), so reparse finds the very same frames.
    for notice in decoder.flush(now, cut=True).notices:
        gate.add(notice)
    gate.tick(now, force=True)
    left_bytes = decoder.counters.cut_bytes
    if left_bytes:
        recorder.add_event("warning", f"the file ends with {left_bytes} bytes of a line or frame "
                           "it cuts short: counted as cut, kept in the raw capture, not decoded",
                           {"bytes": left_bytes}, host_time=now, source="sotlog")
    if clock.backward_steps:
        recorder.add_event("warning", f"the device clock went back {clock.backward_steps} "
                           "time(s); arrival times carry on from the time before",
                           {"times": clock.backward_steps}, host_time=now, source="sotlog")
    recorder.close(status="complete", counters=decoder.counters)
    if recorder.error is not None:
        raise StoreError(str(recorder.error))
    if progress:
        progress(fed, size)
    return ImportResult(0, str(src), fed, count, frames, clock.mode, clock.rate_hz,
                        decoder.counters.as_dict(), left_bytes)


def _wait_for(recorder: Recorder, fed: int) -> None:
    """Let the recorder's writer catch up, so a large file never piles up in memory."""
    pause = threading.Event()
    deadline = time.monotonic() + 600.0
    while fed - recorder.raw_bytes_written - recorder.not_stored["raw_bytes"] > BACKLOG_BYTES // 2:
        if recorder.error is not None or time.monotonic() > deadline:
            raise StoreError(f"the store stopped taking the import: {recorder.error or 'timeout'}")
        pause.wait(0.01)
