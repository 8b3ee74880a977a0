"""Decode a session's raw capture again and compare with the frames stored when it was recorded.

Both sides stream: the raw capture is decoded a stored row at a time (``Decoder.feed_reads``:
in bulk, each frame still stamped with the arrival of its read), the stored frames are read in
``Session.frame_windows``, and the two are compared window by window in the stored dtype, so
memory holds a window and a row whatever the session's length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.protocols import Decoder, make_decoder
from sensing.store import heap

if TYPE_CHECKING:
    from sensing.store.read import Session


@dataclass
class ReparseResult:
    """How the frames decoded now compare with the frames stored."""

    stored_frames: int
    decoded_frames: int
    raw_bytes: int
    identical: bool
    first_difference: int | None  # index of the first frame that differs, if any
    counters: dict[str, int] = field(default_factory=dict)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Tally:
    """What ``decode_raw`` counted, complete once its frames are all taken."""

    counters: dict[str, int] = field(default_factory=dict)
    raw_bytes: int = 0


def decode_raw(session: Session, tally: Tally) -> Iterator[FrameBlock]:
    """Feed the stored raw bytes, with their arrival times, through a fresh decoder: its frames,
    a stored row of reads at a time; ``tally`` has the counters and bytes once they are out.

    The reads the live decoder had before the session (the prelude) go first, to bring the
    fresh decoder to the state the live one was in when the session began; what they decode to
    is not the session's and is left out, counters included. The bridge flushes its decoder
    when the port is lost and starts a fresh one after each reconnect, so this does too. The
    session's end is a cut: the decoder is flushed there as well, so the bytes it still held
    (the last garbage run, a partial line or frame) are counted, and nothing more is decoded.
    """
    profile = session.info.profile
    restarts = sorted(ev.host_time for ev in session.events() if ev.kind == "reconnect")
    decoder: Decoder = make_decoder(profile)
    for data, starts, times in session.raw_blocks(prelude=True):
        decoder.feed_reads(data, starts, times)
    counters = {k: -v for k, v in decoder.counters.as_dict().items()}
    last = session.info.t0_host
    for data, starts, times in session.raw_blocks():
        i = 0
        while i < len(starts):
            j = len(starts)
            if restarts:
                later = np.flatnonzero(times[i:] >= restarts[0])
                j = i + int(later[0]) if later.size else j
            if j > i:
                end = int(starts[j]) if j < len(starts) else len(data)
                out = decoder.feed_reads(data[starts[i]:end], starts[i:j] - starts[i], times[i:j])
                tally.raw_bytes += end - int(starts[i])
                last = float(times[j - 1])
                if out.frames is not None and len(out.frames):
                    yield out.frames
            while restarts and j < len(starts) and times[j] >= restarts[0]:
                decoder.flush(restarts.pop(0), cut=True)  # as the bridge did when the port was lost
                _add(counters, decoder.counters.as_dict())
                decoder = make_decoder(profile)
            i = j
    decoder.flush(last, cut=True)
    _add(counters, decoder.counters.as_dict())
    tally.counters = counters


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


class _Queue:
    """Frames from blocks of any size, taken out in counts of one's choosing."""

    def __init__(self, blocks: Iterator[FrameBlock]) -> None:
        self._blocks = blocks
        self._held: list[FrameBlock] = []
        self._count = 0

    def take(self, n: int) -> FrameBlock | None:
        """The next ``n`` frames (fewer at the end), or None when there are none left."""
        while self._count < n:
            block = next(self._blocks, None)
            if block is None:
                break
            self._held.append(block)
            self._count += len(block)
        if not self._count:
            return None
        joined = FrameBlock.concat(self._held)
        self._held = [joined.take(slice(n, None))] if len(joined) > n else []
        self._count = max(0, self._count - n)
        return joined.take(slice(0, n)) if len(joined) > n else joined


def differing(stored: FrameBlock, decoded: FrameBlock) -> np.ndarray:
    """Per frame of two equally long blocks: whether values, device time or sequence differ.

    Values compare in the stored dtype (NaN equal to NaN); a decoder giving another dtype now
    compares as float64.
    """
    n = len(stored)
    a = stored.values.reshape(n, -1)
    b = decoded.values.reshape(n, -1)
    if a.dtype != b.dtype or a.shape != b.shape:
        if a.shape != b.shape:
            return np.ones(n, bool)
        a, b = a.astype(np.float64), b.astype(np.float64)
    same = a == b
    if a.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    ok = same.all(axis=1)
    da, db = stored.device_time, decoded.device_time
    ok &= (da == db) | (np.isnan(da) & np.isnan(db))
    ok &= stored.seq == decoded.seq
    return ~ok


def reparse(session: Session) -> ReparseResult:
    """Decode the raw capture again; identical means same values, device times and sequence."""
    heap.keep_freed_memory()
    tally = Tally()
    decoded = _Queue(decode_raw(session, tally))
    n_stored = n_decoded = 0
    first: int | None = None
    for window in session.frame_windows():
        got = decoded.take(len(window))
        m = len(got) if got is not None else 0
        if first is None and got is not None:
            bad = np.flatnonzero(differing(window.take(slice(0, m)), got))
            if bad.size:
                first = n_stored + int(bad[0])
        n_stored += len(window)
        n_decoded += m
    while (rest := decoded.take(1 << 16)) is not None:
        n_decoded += len(rest)
    if first is None and n_stored != n_decoded:
        first = min(n_stored, n_decoded)
    nbytes = tally.raw_bytes
    if first is None:
        detail = f"identical: {n_stored} frames decoded again from {nbytes} raw bytes"
    elif n_stored != n_decoded:
        detail = (f"different: {n_stored} frames stored, {n_decoded} decoded again "
                  f"from {nbytes} raw bytes; first difference at frame {first}")
    else:
        detail = f"different: frame {first} of {n_stored} differs"
    return ReparseResult(n_stored, n_decoded, nbytes, first is None, first, tally.counters,
                         detail)
