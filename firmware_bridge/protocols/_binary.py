"""Shared engine of the binary protocols: the byte buffer, the sync search, runs of skipped
bytes, the raw-range check of mat values and the copy of payloads into one block.

A binary decoder names its sync marker and answers three questions: how long is the frame at a
marker (``_frame_size``: a size, "not a frame, skip k bytes", or "wait for more bytes"), what to
do with a whole frame (``_take``: use it or not), and how the used frames become values
(``_block``). Everything between markers is counted here, the same way for every protocol, so
chunking never changes frames, counters or notices.

Every byte fed is decoded (a used frame, sync to CRC or trailer), undecodable (skipped, part of a
frame that failed its CRC, a valid frame of the wrong shape), held (the buffer: a frame not
complete yet, or what could begin a sync marker) or, once the stream is cut, cut (what was held
then). Skipped bytes count in ``undecodable_bytes`` as they are skipped; the run they belong to
is counted and reported once it ends, at the latest when the decoder is flushed.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from firmware_bridge.frames import FLAG_OUT_OF_RANGE, Counters, FrameBlock, Notice
from firmware_bridge.protocols import Decoded, Decoder

if TYPE_CHECKING:
    from firmware_bridge.profiles import Matrix, Profile

# A run of skipped bytes this long is reported even before it ends, so a stream of pure noise
# still shows up as notices; reporting in fixed pieces keeps counts independent of chunking.
SKIP_REPORT_BYTES = 1 << 20


class SkipRun:
    """Counts contiguous bytes that could not be used and reports each run once, when it ends."""

    def __init__(self, counters: Counters, protocol: str) -> None:
        self.counters = counters
        self.protocol = protocol
        self.pending = 0

    def add(self, n: int, host_time: float, notices: list[Notice]) -> None:
        self.pending += n
        self.counters.undecodable_bytes += n
        while self.pending >= SKIP_REPORT_BYTES:
            self.pending -= SKIP_REPORT_BYTES
            self._report(SKIP_REPORT_BYTES, host_time, notices, ended=False)

    def close(self, host_time: float, notices: list[Notice]) -> None:
        if self.pending:
            self._report(self.pending, host_time, notices, ended=True)
            self.pending = 0

    def _report(self, n: int, host_time: float, notices: list[Notice], ended: bool) -> None:
        self.counters.undecodable += 1
        more = "" if ended else " (run continues)"
        detail = f"{self.protocol}: skipped {n} bytes that were not a valid frame{more}"
        notices.append(Notice(host_time, "undecodable", detail, {"bytes": n}))


class RangeCheck:
    """Flags frames holding values outside a mat's declared raw range; one notice per run."""

    def __init__(self, matrix: Matrix | None, dtype: np.dtype) -> None:
        self.active = matrix is not None
        self.lo = self.hi = 0.0
        if matrix is not None:
            self.lo, self.hi = float(matrix.raw_min), float(matrix.raw_max)
            if dtype.kind in "ui":
                info = np.iinfo(dtype)
                self.active = info.min < self.lo or info.max > self.hi
        self._in_run = False

    def apply(self, values: np.ndarray, seq: np.ndarray, flags: np.ndarray, counters: Counters,
              host_time: float, notices: list[Notice], at: list[int]) -> None:
        """Set FLAG_OUT_OF_RANGE on offending frames (values are kept as sent).

        ``at[k]`` is where frame k's notice goes in ``notices``, so they stay in stream order.
        """
        if not self.active or len(values) == 0:
            return
        flat = values.reshape(len(values), -1)
        bad = (flat.min(axis=1) < self.lo) | (flat.max(axis=1) > self.hi)
        if not bad.any():
            self._in_run = False
            return
        flags[bad] |= FLAG_OUT_OF_RANGE
        counters.out_of_range += int(bad.sum())
        starts = bad & ~np.concatenate(([self._in_run], bad[:-1]))
        for k in np.flatnonzero(starts)[::-1]:
            n_bad = int(((flat[k] < self.lo) | (flat[k] > self.hi)).sum())
            notices.insert(at[k], Notice(host_time, "out_of_range",
                                  f"{n_bad} values outside the raw range {self.lo:g}..{self.hi:g} "
                                  "(kept and flagged)",
                                  {"seq": int(seq[k]), "values": n_bad}))
        self._in_run = bool(bad[-1])


def partial_sync(buf: bytearray, pos: int, sync: bytes) -> int:
    """How many bytes at the end of ``buf`` (after ``pos``) could begin ``sync``."""
    if sync[0] not in buf[1 - len(sync):]:
        return 0
    for size in range(min(len(sync) - 1, len(buf) - pos), 0, -1):
        if buf.endswith(sync[:size]):
            return size
    return 0


def gather(view: memoryview, offsets: list[int], size: int) -> bytes:
    """The ``size`` bytes at each offset, back to back (one slice per frame, one copy)."""
    return b"".join([view[off:off + size] for off in offsets])


class BufferedDecoder(Decoder):
    """A binary decoder's bytes between feeds: what it holds, the runs it skips, the raw-range
    check, and how the stream's end is counted. Subclasses decode the buffer (``_decode``)."""

    def __init__(self, profile: Profile, dtype: np.dtype) -> None:
        """``dtype``: the values' native dtype, for the raw-range check."""
        super().__init__(profile)
        self._buf = bytearray()
        self._skip = SkipRun(self.counters, self.name)
        self._range = RangeCheck(profile.matrix, dtype)

    def feed(self, data: bytes, host_time: float) -> Decoded:
        self.counters.bytes += len(data)
        self._buf += data
        return self._decode(host_time, final=False)

    def flush(self, host_time: float, cut: bool = False) -> Decoded:
        # cut: a frame that waits for more bytes never gets them; it is cut, not looked into
        return self._decode(host_time, final=not cut, end=True)

    @abc.abstractmethod
    def _decode(self, host_time: float, final: bool, end: bool = False) -> Decoded:
        """Decode what the buffer holds; ``final``: no more bytes will come; ``end``: the
        stream ends here (``_at_end`` counts what is left)."""

    def _at_end(self, pos: int, final: bool, host_time: float, notices: list[Notice]) -> int:
        """The stream ends with the buffer decoded up to ``pos``: the rest is undecodable
        (``final``) or cut (the frame it stopped inside). Where decoding now stands."""
        n = len(self._buf)
        if final:
            self._skip.add(n - pos, host_time, notices)
        else:
            self.counters.cut_bytes += n - pos
        self._skip.close(host_time, notices)
        return n

    def _drop(self, pos: int) -> None:
        """The buffer was decoded up to ``pos``: hold only the rest."""
        del self._buf[:pos]
        self.counters.held_bytes = len(self._buf)


class BinaryDecoder(BufferedDecoder):
    """A decoder of frames that start with a sync marker; subclasses set ``sync`` and say how
    long a frame is, whether to use it, and how to turn the used ones into values."""

    sync: ClassVar[bytes]

    @abc.abstractmethod
    def _frame_size(self, view: memoryview, i: int, final: bool, host_time: float,
                    notices: list[Notice]) -> int:
        """At a sync marker at ``i``: the size of the whole frame there; or minus the bytes to
        skip when no frame starts there; or 0 to wait for more bytes. ``final``: no more bytes
        will come, so decide now."""

    @abc.abstractmethod
    def _take(self, view: memoryview, i: int, host_time: float, notices: list[Notice]) -> bool:
        """The frame ``_frame_size`` just measured starts at ``i``: note what it says; True to
        use its values."""

    @abc.abstractmethod
    def _block(self, view: memoryview, starts: list[int], note_at: list[int], host_time: float,
               notices: list[Notice]) -> FrameBlock:
        """The used frames starting at ``starts`` as one block (``note_at``: for ``_frames``)."""

    def _frames(self, values: np.ndarray, device_time: np.ndarray | None, seq: np.ndarray,
                flags: np.ndarray, note_at: list[int], host_time: float,
                notices: list[Notice]) -> FrameBlock:
        """The block of ``values``, after the raw-range check; counts the frames."""
        self._range.apply(values, seq, flags, self.counters, host_time, notices, note_at)
        self.counters.frames += len(values)
        return FrameBlock.build(values, host_time, device_time, seq, flags)

    def _decode(self, host_time: float, final: bool, end: bool = False) -> Decoded:
        buf, skip, sync, counters = self._buf, self._skip, self.sync, self.counters
        notices: list[Notice] = []
        n, pos = len(buf), 0
        starts: list[int] = []
        note_at: list[int] = []  # how many notices precede each used frame
        find, frame_size, take = buf.find, self._frame_size, self._take
        with memoryview(buf) as view:
            while True:
                i = find(sync, pos)
                if i < 0:
                    keep = 0 if final else partial_sync(buf, pos, sync)
                    skip.add(n - keep - pos, host_time, notices)
                    pos = n - keep
                    break
                if i > pos:
                    skip.add(i - pos, host_time, notices)
                    pos = i
                size = frame_size(view, i, final, host_time, notices)
                if size == 0:
                    break
                if size < 0:
                    skip.add(-size, host_time, notices)
                    pos = i - size
                    continue
                if skip.pending:
                    skip.close(host_time, notices)
                pos = i + size
                if take(view, i, host_time, notices):
                    starts.append(i)
                    note_at.append(len(notices))
                    counters.decoded_bytes += size
                else:
                    counters.undecodable_bytes += size
            if end:
                pos = self._at_end(pos, final, host_time, notices)
            frames = self._block(view, starts, note_at, host_time, notices) if starts else None
        self._drop(pos)
        return Decoded(frames, notices)
