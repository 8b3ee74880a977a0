"""``binary``: fixed-size records that the profile describes (docs/protocol.md, "binary").

A record is optional sync bytes, then fields of numpy dtypes in a given byte order: the values
(one per channel, or a mat's rows x cols), optionally a device time, a sequence number, bytes
to skip and a checksum (``_record.py``). How the stream is cut into records:

- with sync bytes: at each sync marker (``bytes.find``); a record is used when its checksum
  holds, or, without a checksum, when the next record's sync bytes follow it (so a record cut
  short by lost bytes is never used);
- without sync bytes but with a checksum: by the checksum. Records that follow each other are
  checked in bulk; after a failure, the next offset where a record and the one after it both
  check is where reading goes on;
- with neither: every ``size`` bytes from the stream's start is a record. Nothing can be
  checked: a lost byte shifts every record after it, and sotlog cannot tell.

Records become arrays through one structured ``numpy.frombuffer``; no Python loop runs over
bytes (a search runs one checksum call per offset tried, in compiled code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from firmware_bridge.frames import FLAG_AFTER_GAP, FrameBlock, Notice
from firmware_bridge.profiles import refuse, show
from firmware_bridge.protocols import Decoded
from firmware_bridge.protocols._binary import BinaryDecoder, gather
from firmware_bridge.protocols._checksums import CHECKSUMS
from firmware_bridge.protocols._record import Layout, layout

if TYPE_CHECKING:
    from firmware_bridge.profiles import Profile


def encode_records(lay: Layout, values: np.ndarray, seq: np.ndarray | None = None,
                   time: np.ndarray | None = None) -> bytes:
    """Records of ``values`` (``(n, ...)``, ``count`` values each) laid out as ``lay`` says, with
    sequence numbers and device times (in the time field's unit) where it has those fields;
    the checksum computed. For tests and the simulator."""
    vals = np.asarray(values)
    n = len(vals)
    rec = np.zeros(n, dtype=lay.record)
    if lay.sync:
        rec["sync"] = lay.sync
    rec["values"] = vals.reshape(n, lay.count)
    for name, given in (("seq", seq), ("time", time)):
        if name in lay.has:
            bits = 8 * lay.record[name].itemsize
            rec[name] = np.asarray(given if given is not None else np.arange(n)) % (1 << bits)
    if lay.checksum is not None:
        start, end = lay.covered
        rows = rec.view(np.uint8).reshape(n, lay.size)[:, start:end]
        rec["checksum"] = CHECKSUMS[lay.checksum].of_rows(rows)
    return rec.tobytes()


class BinaryRecordDecoder(BinaryDecoder):
    """Decodes the records a profile describes into ``(n, channels)`` or ``(n, rows, cols)``."""

    name = "binary"

    def __init__(self, profile: Profile) -> None:
        self.layout = lay = layout(profile)
        self.sync = lay.sync
        self._dtype = lay.values.newbyteorder("=")
        super().__init__(profile, self._dtype)
        self._sum = CHECKSUMS[lay.checksum] if lay.checksum else None
        self._locked = False  # without sync bytes: where records begin is known
        self._last_seq: int | None = None
        self._seq_mod = 1 << (8 * lay.record["seq"].itemsize) if "seq" in lay.has else 0

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """A layout the options describe; channels in order; a mat's dtype its values'."""
        lay = layout(profile)
        for i, ch in enumerate(profile.channels):
            if ch.column is not None:
                raise refuse(profile, f"[[channels]] #{i + 1} column", "binary records hold "
                             "the channels in order, without columns: leave column out")
        native = lay.values.newbyteorder("=").name
        if profile.matrix is not None and profile.matrix.dtype != native:
            raise refuse(profile, "[matrix] dtype", f"must be the values field's, {show(native)}"
                                                    f", not {show(profile.matrix.dtype)}")

    @classmethod
    def read_size(cls, profile: Profile) -> int:
        return layout(profile).size

    # -- with sync bytes: the shared engine finds the markers --------------------------------

    def _checks(self, rows: np.ndarray) -> np.ndarray:
        """Whether each record (a row of bytes) holds its checksum."""
        assert self._sum is not None
        start, end = self.layout.covered
        size = self._sum.size
        got = rows[:, end:end + size].copy().view(self.layout.record["checksum"]).ravel()
        return self._sum.of_rows(rows[:, start:end]) == got.astype(np.uint64)

    def _crc_failed(self, host_time: float, notices: list[Notice]) -> None:
        self.counters.crc_errors += 1
        notices.append(Notice(host_time, "crc_error", f"binary: a {self.layout.size}-byte "
                              f"record failed its {self.layout.checksum}; looking for the next",
                              {"record_bytes": self.layout.size}))

    def _frame_size(self, view: memoryview, i: int, final: bool, host_time: float,
                    notices: list[Notice]) -> int:
        size, sync = self.layout.size, self.sync
        if len(view) - i < size:
            return 0
        if self._sum is not None:
            row = np.frombuffer(view[i:i + size], np.uint8).reshape(1, size)
            if self._checks(row)[0]:
                return size
            self._crc_failed(host_time, notices)
            return -len(sync)
        after = bytes(view[i + size:i + size + len(sync)])
        if after != sync[:len(after)]:
            return -len(sync)  # no record starts where this one ends: it is not one
        return size if len(after) == len(sync) or final else 0

    def _take(self, view: memoryview, i: int, host_time: float, notices: list[Notice]) -> bool:
        return True

    def _block(self, view: memoryview, starts: list[int], note_at: list[int], host_time: float,
               notices: list[Notice]) -> FrameBlock:
        raw = gather(view, starts, self.layout.size)
        return self._records(raw, note_at, host_time, notices)

    def _records(self, raw: bytes, note_at: list[int], host_time: float,
                 notices: list[Notice]) -> FrameBlock:
        rec = np.frombuffer(raw, dtype=self.layout.record)
        n = len(rec)
        values = rec["values"].astype(self._dtype).reshape(n, *self.frame_shape)
        device_time = None
        if "time" in self.layout.has:
            device_time = rec["time"].astype(np.float64) * self.layout.time_scale
        flags = np.zeros(n, np.uint8)
        seq = np.full(n, -1, np.int64)
        if "seq" in self.layout.has:
            seq = rec["seq"].astype(np.int64)
            self._seq_gaps(seq, flags, host_time, notices)
        return self._frames(values, device_time, seq, flags, note_at, host_time, notices)

    def _seq_gaps(self, seq: np.ndarray, flags: np.ndarray, host_time: float,
                  notices: list[Notice]) -> None:
        """Count sequence numbers skipped, flag the record after each gap, say so."""
        mod = self._seq_mod
        prev = np.concatenate(([-1 if self._last_seq is None else self._last_seq], seq[:-1]))
        expected = (prev + 1) % mod
        broken = (seq != expected) & (prev >= 0)
        self._last_seq = int(seq[-1])
        for k in np.flatnonzero(broken).tolist():
            missing = int((seq[k] - expected[k]) % mod)
            flags[k] |= FLAG_AFTER_GAP
            if missing >= mod // 2:
                detail, missing = (f"binary: sequence went back from {int(prev[k])} to "
                                   f"{int(seq[k])} (device restarted?)"), 0
            else:
                self.counters.seq_gaps += missing
                detail = f"binary: {missing} record(s) missing before seq {int(seq[k])}"
            notices.append(Notice(host_time, "seq_gap", detail,
                                  {"expected": int(expected[k]), "got": int(seq[k]),
                                   "missing": missing}))

    # -- without sync bytes ------------------------------------------------------------------

    def _decode(self, host_time: float, final: bool, end: bool = False) -> Decoded:
        if self.sync:
            return super()._decode(host_time, final, end)
        buf, skip, size, counters = self._buf, self._skip, self.layout.size, self.counters
        notices: list[Notice] = []
        a = np.frombuffer(bytes(buf), np.uint8)  # a copy: buf is cut below
        n, pos = len(a), 0
        starts: list[int] = []
        note_at: list[int] = []
        while n - pos >= size:
            if self._sum is None or self._locked:
                k = (n - pos) // size
                good = k
                if self._sum is not None:
                    ok = self._checks(a[pos:pos + k * size].reshape(k, size))
                    good = k if ok.all() else int(np.argmin(ok))
                if good and skip.pending:
                    skip.close(host_time, notices)
                starts += range(pos, pos + good * size, size)
                note_at += [len(notices)] * good
                pos += good * size
                if good < k:
                    self._locked = False
                    self._crc_failed(host_time, notices)
                continue
            at = self._find(a[pos:], final)
            if at is None:  # offsets that can no longer begin a checked pair are skipped
                drop = max(0, n - pos - 2 * size + 1) if not final else n - pos
                skip.add(drop, host_time, notices)
                pos += drop
                break
            skip.add(at, host_time, notices)
            pos += at
            self._locked = True
        counters.decoded_bytes += len(starts) * size
        if end:
            if final:
                skip.add(n - pos, host_time, notices)
            else:
                counters.cut_bytes += n - pos
            skip.close(host_time, notices)
            pos = n
        frames = None
        if starts:
            raw = gather(a.data, starts, size)
            frames = self._records(raw, note_at, host_time, notices)
        del buf[:pos]
        counters.held_bytes = len(buf)
        return Decoded(frames, notices)

    def _find(self, a: np.ndarray, final: bool) -> int | None:
        """The first offset in ``a`` where a record and the next both hold their checksum (at
        the stream's end one is enough); None if there is none yet."""
        size = self.layout.size
        ok = self._checks(sliding_window_view(a, size))
        pair = ok[:-size] & ok[size:]
        hits = np.flatnonzero(pair if not final else ok)
        return int(hits[0]) if len(hits) else None
