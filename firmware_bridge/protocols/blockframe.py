"""blockframe: sotlog's own binary frame for load cells and pressure mats (see docs/protocol.md).

A frame is a 28-byte little-endian header (sync, version, kind, dtype, shape, payload length,
sequence number, device time in microseconds), the values, and a CRC-32 (``zlib.crc32``) over
everything before it. The decoder finds sync markers with ``bytes.find``, trusts a frame only
when its CRC matches, and decodes payloads with ``numpy.frombuffer``.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np

from firmware_bridge.errors import ProtocolError
from firmware_bridge.frames import FLAG_AFTER_GAP, FLAG_OUT_OF_RANGE, Counters, FrameBlock, Notice
from firmware_bridge.protocols import Decoded, Decoder

if TYPE_CHECKING:
    from firmware_bridge.profiles import Matrix, Profile

SYNC = b"\xc5\x9a"
VERSION = 1
KIND_CHANNELS = 1
KIND_MATRIX = 2
# sync, version, kind, dtype code, reserved, dim0, dim1, reserved, payload length, seq, time (us)
HEADER = struct.Struct("<2sBBBBHHHIIQ")
CRC_SIZE = 4
# Wire dtype codes: the registry both the encoder and the decoder read.
DTYPE_CODES: dict[int, np.dtype] = {
    1: np.dtype("<u1"),
    2: np.dtype("<u2"),
    3: np.dtype("<i2"),
    4: np.dtype("<i4"),
    5: np.dtype("<u4"),
    6: np.dtype("<f4"),
    7: np.dtype("<f8"),
}
_CODE_BY_NAME = {dt.name: code for code, dt in DTYPE_CODES.items()}
SEQ_MOD = 1 << 32
# A run of skipped bytes this long is reported even before it ends, so a stream of pure noise
# still shows up as notices; reporting in fixed pieces keeps counts independent of chunking.
SKIP_REPORT_BYTES = 1 << 20


def dtype_code(dtype: np.dtype | str) -> int:
    """The blockframe code of a numpy dtype (by kind and size, any byte order)."""
    known = ", ".join(sorted(_CODE_BY_NAME))
    try:
        name = np.dtype(dtype).name
    except TypeError as err:
        raise ProtocolError(f"blockframe: unknown dtype {dtype!r} (known: {known})") from err
    if name not in _CODE_BY_NAME:
        raise ProtocolError(f"blockframe cannot carry dtype {name} (known: {known})")
    return _CODE_BY_NAME[name]


def encode_frame(values: np.ndarray, seq: int, device_time_us: int) -> bytes:
    """One blockframe frame: 1-D ``values`` are channels, 2-D a matrix; dtype from the array."""
    arr = np.asarray(values)
    if arr.ndim == 1:
        kind, dim0, dim1 = KIND_CHANNELS, arr.shape[0], 0
    elif arr.ndim == 2:
        kind, dim0, dim1 = KIND_MATRIX, arr.shape[0], arr.shape[1]
    else:
        raise ProtocolError(f"blockframe carries 1-D or 2-D values, not {arr.ndim}-D")
    if not (0 < dim0 <= 0xFFFF and dim1 <= 0xFFFF and (kind == KIND_CHANNELS or dim1 > 0)):
        raise ProtocolError(f"blockframe cannot carry a frame of shape {arr.shape}")
    if not 0 <= device_time_us < 1 << 64:
        raise ProtocolError(f"blockframe device time must fit uint64 us, not {device_time_us}")
    code = dtype_code(arr.dtype)
    payload = np.ascontiguousarray(arr, dtype=DTYPE_CODES[code]).tobytes()
    head = HEADER.pack(SYNC, VERSION, kind, code, 0, dim0, dim1, 0, len(payload),
                       seq % SEQ_MOD, device_time_us)
    body = head + payload
    return body + zlib.crc32(body).to_bytes(CRC_SIZE, "little")


class SkipRun:
    """Counts contiguous bytes that could not be used and reports each run once, when it ends."""

    def __init__(self, counters: Counters, protocol: str) -> None:
        self.counters = counters
        self.protocol = protocol
        self.pending = 0

    def add(self, n: int, host_time: float, notices: list[Notice]) -> None:
        self.pending += n
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


class BlockframeDecoder(Decoder):
    """Decodes blockframe frames whose shape and dtype match the profile."""

    name = "blockframe"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        shape = self.frame_shape
        if profile.matrix is not None:
            dtype_name = profile.matrix.dtype
            self._kind, self._dims = KIND_MATRIX, shape
        else:
            dtype_name = str(profile.options.get("dtype", "int32"))
            self._kind, self._dims = KIND_CHANNELS, (shape[0], 0)
        self._code = dtype_code(dtype_name)
        self._wire_dtype = DTYPE_CODES[self._code]
        self._dtype = self._wire_dtype.newbyteorder("=")
        n_values = int(np.prod(shape))
        self._payload_len = n_values * self._wire_dtype.itemsize
        # A frame claiming more than this is corruption: never wait for it.
        self._max_payload = max(16 * n_values, 4096)
        self._expect = (self._kind, self._code, *self._dims)
        self._buf = bytearray()
        self._skip = SkipRun(self.counters, self.name)
        self._range = RangeCheck(profile.matrix, self._dtype)
        self._last_seq: int | None = None
        self._wrong: tuple[int, ...] | None = None
        self._gap_pending = False  # the next good frame gets FLAG_AFTER_GAP

    def feed(self, data: bytes, host_time: float) -> Decoded:
        self.counters.bytes += len(data)
        self._buf += data
        return self._decode(host_time, final=False)

    def flush(self, host_time: float) -> Decoded:
        return self._decode(host_time, final=True)

    def _plausible(self, kind: int, code: int, dim0: int, dim1: int, plen: int) -> bool:
        """Whether a header could be real; a failing one is a sync marker inside other bytes."""
        dt = DTYPE_CODES.get(code)
        if dt is None or dim0 == 0 or plen > self._max_payload:
            return False
        if kind == KIND_CHANNELS:
            return dim1 == 0 and plen == dim0 * dt.itemsize
        return kind == KIND_MATRIX and dim1 > 0 and plen == dim0 * dim1 * dt.itemsize

    def _decode(self, host_time: float, final: bool) -> Decoded:
        buf, skip = self._buf, self._skip
        notices: list[Notice] = []
        n, pos = len(buf), 0
        offsets: list[int] = []
        seqs: list[int] = []
        times: list[int] = []
        gap_at: list[int] = []
        note_at: list[int] = []  # how many notices precede each good frame
        head_size, unpack, find = HEADER.size, HEADER.unpack_from, buf.find
        with memoryview(buf) as view:
            while True:
                i = find(SYNC, pos)
                if i < 0:
                    keep = 1 if not final and n > pos and buf[-1] == SYNC[0] else 0
                    skip.add(n - keep - pos, host_time, notices)
                    pos = n - keep
                    break
                if i > pos:
                    skip.add(i - pos, host_time, notices)
                    pos = i
                if n - i < head_size:
                    break
                _, ver, kind, code, _, dim0, dim1, _, plen, seq, t_us = unpack(buf, i)
                if ver != VERSION or not self._plausible(kind, code, dim0, dim1, plen):
                    skip.add(2, host_time, notices)
                    pos = i + 2
                    continue
                end = i + head_size + plen
                if n < end + CRC_SIZE:
                    if not final:
                        break
                    skip.add(2, host_time, notices)  # cut short: frames may still lie inside
                    pos = i + 2
                    continue
                if zlib.crc32(view[i:end]) != int.from_bytes(view[end:end + CRC_SIZE], "little"):
                    self.counters.crc_errors += 1
                    notices.append(Notice(host_time, "crc_error",
                                          f"blockframe: CRC mismatch in a {plen}-byte frame "
                                          f"(claimed seq {seq}); searching for the next frame",
                                          {"claimed_seq": seq, "payload_bytes": plen}))
                    skip.add(2, host_time, notices)
                    pos = i + 2
                    continue
                skip.close(host_time, notices)
                pos = end + CRC_SIZE
                if self._track_seq(seq, host_time, notices):
                    self._gap_pending = True
                if (kind, code, dim0, dim1) != self._expect:
                    self._wrong_frame((kind, code, dim0, dim1), seq, host_time, notices)
                    continue
                self._wrong = None
                if self._gap_pending:
                    gap_at.append(len(offsets))
                    self._gap_pending = False
                offsets.append(i + head_size)
                note_at.append(len(notices))
                seqs.append(seq)
                times.append(t_us)
            if final:
                skip.add(n - pos, host_time, notices)
                skip.close(host_time, notices)
                pos = n
            frames = self._block(view, offsets, seqs, times, gap_at, note_at, host_time, notices)
        del buf[:pos]
        return Decoded(frames, notices)

    def _track_seq(self, seq: int, host_time: float, notices: list[Notice]) -> bool:
        """Update the expected sequence number; True when frames went missing before ``seq``."""
        last, self._last_seq = self._last_seq, seq
        if last is None:
            return False
        expected = (last + 1) % SEQ_MOD
        if seq == expected:
            return False
        missing = (seq - expected) % SEQ_MOD
        if missing >= SEQ_MOD // 2:  # went backwards: the device restarted its count
            notices.append(Notice(host_time, "seq_gap",
                                  f"blockframe: sequence went back from {last} to {seq} "
                                  "(device restarted?)",
                                  {"expected": expected, "got": seq, "missing": 0}))
            return True
        self.counters.seq_gaps += missing
        notices.append(Notice(host_time, "seq_gap",
                              f"blockframe: {missing} frame(s) missing before seq {seq}",
                              {"expected": expected, "got": seq, "missing": missing}))
        return True

    def _wrong_frame(self, got: tuple[int, ...], seq: int, host_time: float,
                     notices: list[Notice]) -> None:
        """Count a valid frame of another shape or dtype; one notice per run of alike frames."""
        self.counters.wrong_size += 1
        if got == self._wrong:
            return
        self._wrong = got
        kind, code, dim0, dim1 = got
        shape = (dim0,) if kind == KIND_CHANNELS else (dim0, dim1)
        notices.append(Notice(
            host_time, "wrong_size",
            f"blockframe: frame of shape {shape} {DTYPE_CODES[code].name} where the profile "
            f"expects {self.frame_shape} {self._dtype.name}; not used",
            {"shape": list(shape), "dtype": DTYPE_CODES[code].name, "seq": seq,
             "expected_shape": list(self.frame_shape), "expected_dtype": self._dtype.name}))

    def _block(self, view: memoryview, offsets: list[int], seqs: list[int], times: list[int],
               gap_at: list[int], note_at: list[int], host_time: float,
               notices: list[Notice]) -> FrameBlock | None:
        """Copy the payloads of the good frames into one array, in one pass per frame."""
        count = len(offsets)
        if not count:
            return None
        plen = self._payload_len
        raw = bytearray(count * plen)
        for k, off in enumerate(offsets):
            raw[k * plen:(k + 1) * plen] = view[off:off + plen]
        values = np.frombuffer(raw, dtype=self._wire_dtype).reshape(count, *self.frame_shape)
        if values.dtype != self._dtype:
            values = values.astype(self._dtype)
        seq = np.array(seqs, dtype=np.int64)
        flags = np.zeros(count, np.uint8)
        if gap_at:
            flags[gap_at] |= FLAG_AFTER_GAP
        self._range.apply(values, seq, flags, self.counters, host_time, notices, note_at)
        self.counters.frames += count
        device_time = np.array(times, dtype=np.float64) * 1e-6
        return FrameBlock.build(values, host_time, device_time, seq, flags)
