"""blockframe: sotlog's own binary frame for load cells and pressure mats (see docs/protocol.md).

A frame is a 28-byte little-endian header (sync, version, kind, dtype, shape, payload length,
sequence number, device time in microseconds), the values, and a CRC-32 (``zlib.crc32``) over
everything before it. The decoder finds sync markers with ``bytes.find``, trusts a frame only
when its CRC matches, and decodes payloads with ``numpy.frombuffer``.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.errors import ProtocolError
from firmware_bridge.frames import FLAG_AFTER_GAP, FrameBlock, Notice
from firmware_bridge.profiles import refuse, show
from firmware_bridge.protocols import refuse_options
from firmware_bridge.protocols._binary import BinaryDecoder, gather

if TYPE_CHECKING:
    from firmware_bridge.profiles import Profile

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


def profile_dtype_code(profile: Profile) -> int:
    """The dtype code of ``profile``'s frames: its matrix dtype, or options.dtype (int32)."""
    if profile.matrix is not None:
        return dtype_code(profile.matrix.dtype)
    return dtype_code(str(profile.options.get("dtype", "int32")))


class BlockframeDecoder(BinaryDecoder):
    """Decodes blockframe frames whose shape and dtype match the profile."""

    name = "blockframe"
    sync = SYNC

    def __init__(self, profile: Profile) -> None:
        self._code = profile_dtype_code(profile)
        self._wire_dtype = DTYPE_CODES[self._code]
        self._dtype = self._wire_dtype.newbyteorder("=")
        super().__init__(profile, self._dtype)
        shape = self.frame_shape
        dims = shape if profile.matrix is not None else (shape[0], 0)
        self._expect = (KIND_MATRIX if profile.matrix is not None else KIND_CHANNELS,
                        self._code, *dims)
        n_values = int(np.prod(shape))
        self._payload_len = n_values * self._wire_dtype.itemsize
        # A frame claiming more than this is corruption: never wait for it.
        self._max_payload = max(16 * n_values, 4096)
        self._last_seq: int | None = None
        self._wrong: tuple[int, ...] | None = None
        self._gap_pending = False  # the next good frame gets FLAG_AFTER_GAP
        self._header: tuple[Any, ...] = ()  # of the frame _frame_size measured last
        # what the used frames of the current read say, beside their offsets
        self._seqs: list[int] = []
        self._times: list[int] = []
        self._after_gap: list[int] = []  # their indices among them

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """Channels in order (no columns) or a mat, in a dtype blockframe carries."""
        for i, ch in enumerate(profile.channels):
            if ch.column is not None:
                raise refuse(profile, f"[[channels]] #{i + 1} column", "blockframe sends its "
                             "channels in order, without columns: leave column out")
        if profile.matrix is not None:
            refuse_options(profile, ())  # a mat's dtype is [matrix] dtype
            where, dtype = "[matrix] dtype", profile.matrix.dtype
        else:
            refuse_options(profile, ("dtype",))
            where, dtype = "[options] dtype", profile.options.get("dtype", "int32")
        if not (isinstance(dtype, str) and dtype in _CODE_BY_NAME):
            raise refuse(profile, where, f"must be a dtype blockframe carries "
                                         f"({', '.join(sorted(_CODE_BY_NAME))}), not {show(dtype)}")

    @classmethod
    def read_size(cls, profile: Profile) -> int:
        values = int(np.prod(profile.frame_shape))
        return HEADER.size + values * DTYPE_CODES[profile_dtype_code(profile)].itemsize + CRC_SIZE

    def _plausible(self, kind: int, code: int, dim0: int, dim1: int, plen: int) -> bool:
        """Whether a header could be real; a failing one is a sync marker inside other bytes."""
        dt = DTYPE_CODES.get(code)
        if dt is None or dim0 == 0 or plen > self._max_payload:
            return False
        if kind == KIND_CHANNELS:
            return dim1 == 0 and plen == dim0 * dt.itemsize
        return kind == KIND_MATRIX and dim1 > 0 and plen == dim0 * dim1 * dt.itemsize

    def _frame_size(self, view: memoryview, i: int, final: bool, host_time: float,
                    notices: list[Notice]) -> int:
        if len(view) - i < HEADER.size:
            return 0
        self._header = head = HEADER.unpack_from(view, i)
        _, ver, kind, code, _, dim0, dim1, _, plen, seq, _ = head
        if ver != VERSION or not self._plausible(kind, code, dim0, dim1, plen):
            return -len(SYNC)
        end = i + HEADER.size + plen
        if len(view) < end + CRC_SIZE:
            return -len(SYNC) if final else 0  # cut short at the end: frames may lie inside
        if zlib.crc32(view[i:end]) != int.from_bytes(view[end:end + CRC_SIZE], "little"):
            self.counters.crc_errors += 1
            notices.append(Notice(host_time, "crc_error",
                                  f"blockframe: CRC mismatch in a {plen}-byte frame "
                                  f"(claimed seq {seq}); searching for the next frame",
                                  {"claimed_seq": seq, "payload_bytes": plen}))
            return -len(SYNC)
        return end + CRC_SIZE - i

    def _take(self, view: memoryview, i: int, host_time: float, notices: list[Notice]) -> bool:
        _, _, kind, code, _, dim0, dim1, _, _, seq, t_us = self._header
        if self._track_seq(seq, host_time, notices):
            self._gap_pending = True
        if (kind, code, dim0, dim1) != self._expect:
            self._wrong_frame((kind, code, dim0, dim1), seq, host_time, notices)
            return False
        self._wrong = None
        if self._gap_pending:
            self._after_gap.append(len(self._seqs))
            self._gap_pending = False
        self._seqs.append(seq)
        self._times.append(t_us)
        return True

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

    def _block(self, view: memoryview, starts: list[int], note_at: list[int], host_time: float,
               notices: list[Notice]) -> FrameBlock:
        count = len(starts)
        raw = gather(view, [i + HEADER.size for i in starts], self._payload_len)
        values = np.frombuffer(raw, dtype=self._wire_dtype).reshape(count, *self.frame_shape)
        if values.dtype != self._dtype:
            values = values.astype(self._dtype)
        seq = np.array(self._seqs, dtype=np.int64)
        flags = np.zeros(count, np.uint8)
        if self._after_gap:
            flags[self._after_gap] |= FLAG_AFTER_GAP
        device_time = np.array(self._times, dtype=np.float64) * 1e-6
        self._seqs, self._times, self._after_gap = [], [], []
        return self._frames(values, device_time, seq, flags, note_at, host_time, notices)
