"""``binary``: fixed-size records that the profile describes (docs/protocol.md, "binary").

A record is optional sync bytes, then fields of numpy dtypes in a given byte order: the values
(one per channel, or a mat's rows x cols), optionally a device time, a sequence number, bytes
to skip and a checksum (``_record.py``). How the stream is cut into records:

- with sync bytes: from each sync marker (``bytes.find``), the records that follow back to
  back are checked at once; a record is used when it starts with the sync bytes and its
  checksum holds, or, without a checksum, when the next record's sync bytes follow it (so a
  record cut short by lost bytes is never used); at the first that is not, the search for a
  marker goes on after its sync bytes;
- without sync bytes but with a checksum: by the checksum. Records that follow each other are
  checked in bulk; after a failure, the next offset where a record and the one after it both
  check is where reading goes on;
- with neither: every ``size`` bytes from the stream's start is a record. Nothing can be
  checked: a lost byte shifts every record after it, and sotlog cannot tell.

The engine is this module's, not ``_binary.BinaryDecoder``'s (which measures one variable-size
frame at a time): fixed-size records are checked and decoded as arrays, a run at a time, through
one structured ``numpy.frombuffer``. It shares the rest (``_binary.BufferedDecoder``: the buffer,
skipped runs, the raw-range check, the stream's end; and ``partial_sync``). No Python loop
runs over bytes (the search after a loss checks every offset at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from firmware_bridge.frames import FLAG_AFTER_GAP, FrameBlock, Notice
from firmware_bridge.profiles import refuse, show
from firmware_bridge.protocols import Decoded
from firmware_bridge.protocols._binary import BufferedDecoder, partial_sync
from firmware_bridge.protocols._checksums import CHECKSUMS
from firmware_bridge.protocols._record import Layout, layout

if TYPE_CHECKING:
    from firmware_bridge.profiles import Profile


FIRST_SPAN = 16  # records checked at once at a sync marker (in noise, markers are often false)


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


class BinaryRecordDecoder(BufferedDecoder):
    """Decodes the records a profile describes into ``(n, channels)`` or ``(n, rows, cols)``."""

    name = "binary"

    def __init__(self, profile: Profile) -> None:
        self.layout = lay = layout(profile)
        self._dtype = lay.values.newbyteorder("=")
        super().__init__(profile, self._dtype)
        self._sync = np.frombuffer(lay.sync, np.uint8)
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

    # -- checks --------------------------------------------------------------------------

    def _checks(self, rows: np.ndarray) -> np.ndarray:
        """Whether each record (a row of bytes) holds its checksum."""
        assert self._sum is not None
        start, end = self.layout.covered
        size = self._sum.size
        got = rows[:, end:end + size].copy().view(self.layout.record["checksum"]).ravel()
        return self._sum.of_rows(rows[:, start:end]) == got.astype(np.uint64)

    def _good(self, rows: np.ndarray, after: np.ndarray, final: bool) -> tuple[np.ndarray, bool]:
        """Which of the back-to-back records ``rows`` are records, and whether the last one
        waits for the bytes ``after`` it to decide (no checksum: the next sync bytes, not all
        there yet)."""
        ok = np.ones(len(rows), bool)
        ls = len(self._sync)
        if ls:
            ok &= (rows[:, :ls] == self._sync).all(axis=1)
        if self._sum is not None:
            return ok & self._checks(rows), False
        if not ls:
            return ok, False
        follows = np.empty(len(rows), bool)
        follows[:-1] = ok[1:]
        head = after[:ls]
        prefix = bool((head == self._sync[:len(head)]).all())
        follows[-1] = prefix and (len(head) == ls or final)
        return ok & follows, bool(ok[-1] and prefix and len(head) < ls and not final)

    def _crc_failed(self, host_time: float, notices: list[Notice]) -> None:
        self.counters.crc_errors += 1
        notices.append(Notice(host_time, "crc_error", f"binary: a {self.layout.size}-byte "
                              f"record failed its {self.layout.checksum}; looking for the next",
                              {"record_bytes": self.layout.size}))

    def _find(self, a: np.ndarray, final: bool) -> int | None:
        """The first offset in ``a`` where a record and the next both hold their checksum (at
        the stream's end one is enough); None if there is none yet. Looks in a prefix of ``a``
        four times longer each time, so a loss costs about the bytes up to the next records."""
        size = self.layout.size
        width = 16 * size
        while True:
            part = a[:width + 2 * size - 1]  # offsets below width have both records in it
            ok = self._checks(sliding_window_view(part, size))
            hits = np.flatnonzero(ok[:-size] & ok[size:])
            if len(hits):
                return int(hits[0])
            if len(part) == len(a):
                hits = np.flatnonzero(ok) if final else hits
                return int(hits[0]) if len(hits) else None
            width *= 4

    # -- the engine ----------------------------------------------------------------------

    def _decode(self, host_time: float, final: bool, end: bool = False) -> Decoded:
        buf, skip, size, counters = self._buf, self._skip, self.layout.size, self.counters
        sync = self.layout.sync
        notices: list[Notice] = []
        a = np.frombuffer(bytes(buf), np.uint8)  # a copy: buf is cut below
        n, pos = len(a), 0
        runs: list[np.ndarray] = []
        note_at: list[int] = []  # how many notices precede each used record
        span = FIRST_SPAN  # records checked at once: more while they hold, few after a miss
        while True:
            if sync:
                i = buf.find(sync, pos)
                if i < 0:
                    keep = 0 if final else partial_sync(buf, pos, sync)
                    skip.add(n - keep - pos, host_time, notices)
                    pos = n - keep
                    break
                skip.add(i - pos, host_time, notices)
                pos = i
            elif self._sum is not None and not self._locked:
                at = self._find(a[pos:], final) if n - pos >= size else None
                if at is None:  # offsets that can no longer begin a checked pair are skipped
                    drop = n - pos if final else max(0, n - pos - 2 * size + 1)
                    skip.add(drop, host_time, notices)
                    pos += drop
                    break
                skip.add(at, host_time, notices)
                pos += at
                self._locked = True
            k = min((n - pos) // size, span)
            if k == 0:
                break
            rows = a[pos:pos + k * size].reshape(k, size)
            ok, wait = self._good(rows, a[pos + k * size:], final)
            good = k if ok.all() else int(np.argmin(ok))
            span = span * 8 if good == k else FIRST_SPAN
            if good:
                if skip.pending:
                    skip.close(host_time, notices)
                runs.append(rows[:good])
                note_at += [len(notices)] * good
                counters.decoded_bytes += good * size
                pos += good * size
                continue
            if wait and k == 1:  # the record is whole; what follows it decides
                break
            if self._sum is not None:
                self._crc_failed(host_time, notices)
            if sync:  # no record at this marker: look for the next after it
                skip.add(len(sync), host_time, notices)
                pos += len(sync)
            else:
                self._locked = False
        if end:
            pos = self._at_end(pos, final, host_time, notices)
        frames = self._records(np.concatenate(runs), note_at, host_time,
                               notices) if runs else None
        self._drop(pos)
        return Decoded(frames, notices)

    def _records(self, rows: np.ndarray, note_at: list[int], host_time: float,
                 notices: list[Notice]) -> FrameBlock:
        rec = rows.view(self.layout.record).ravel()
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
        self._range.apply(values, seq, flags, self.counters, host_time, notices, note_at)
        self.counters.frames += n
        return FrameBlock.build(values, host_time, device_time, seq, flags)

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
