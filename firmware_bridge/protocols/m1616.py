"""m1616: the generic 16x16 piezoresistive mat's binary frames (see docs/protocol.md).

A frame is the header ``AA AB AC``, 256 big-endian uint16 values row by row, and 4 trailing
bytes whose meaning no public source documents; they are kept (``last_trailer``, and every byte
in the raw capture) and never interpreted. The frame carries no checksum, so a changed value
byte cannot be detected; lost, extra or missing bytes are, by where the next header sits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from firmware_bridge.errors import ProtocolError
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.protocols import Decoded, Decoder
from firmware_bridge.protocols.blockframe import RangeCheck, SkipRun

if TYPE_CHECKING:
    from firmware_bridge.profiles import Profile

HEADER = b"\xaa\xab\xac"
ROWS = COLS = 16
TRAILER_SIZE = 4
PAYLOAD_SIZE = ROWS * COLS * 2
FRAME_SIZE = len(HEADER) + PAYLOAD_SIZE + TRAILER_SIZE
_WIRE = np.dtype(">u2")
# Bytes at a frame's end that could be the start of the next header, so a frame one or two
# bytes short is told apart from a whole one only once the following bytes have arrived.
_HEADER_PREFIXES = (HEADER[:1], HEADER[:2])


def encode_m1616(values: np.ndarray, trailer: bytes = b"\x00\x00\x00\x00") -> bytes:
    """One M1616 frame from a 16x16 array of 0..65535 values (for tests and the simulator)."""
    arr = np.asarray(values)
    if arr.shape != (ROWS, COLS):
        raise ProtocolError(f"m1616 frames are 16x16, not {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > 0xFFFF):
        raise ProtocolError("m1616 values must lie in 0..65535")
    if len(trailer) != TRAILER_SIZE:
        raise ProtocolError(f"m1616 trailer is {TRAILER_SIZE} bytes, not {len(trailer)}")
    return HEADER + arr.astype(_WIRE).tobytes() + bytes(trailer)


class M1616Decoder(Decoder):
    """Decodes M1616 frames into (n, 16, 16) native uint16 values."""

    name = "m1616"

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        if profile.matrix is None or self.frame_shape != (ROWS, COLS):
            raise ProtocolError(f"profile {profile.name!r}: m1616 needs a 16x16 [matrix]")
        self._buf = bytearray()
        self._skip = SkipRun(self.counters, self.name)
        self._range = RangeCheck(profile.matrix, np.dtype(np.uint16))
        self.last_trailer = b""

    def feed(self, data: bytes, host_time: float) -> Decoded:
        self.counters.bytes += len(data)
        self._buf += data
        return self._decode(host_time, final=False)

    def flush(self, host_time: float) -> Decoded:
        return self._decode(host_time, final=True)

    def _decode(self, host_time: float, final: bool) -> Decoded:
        buf, skip = self._buf, self._skip
        notices: list[Notice] = []
        n, pos = len(buf), 0
        starts: list[int] = []
        note_at: list[int] = []  # how many notices precede each frame
        while True:
            i = buf.find(HEADER, pos)
            if i < 0:
                keep = 0 if final else _partial_header_len(buf, pos)
                skip.add(n - keep - pos, host_time, notices)
                pos = n - keep
                break
            if i > pos:
                skip.add(i - pos, host_time, notices)
                pos = i
            end = i + FRAME_SIZE
            if n < end:
                break
            if not final and n < end + 2 and buf[end - 2:end].endswith(_HEADER_PREFIXES):
                break  # wait: the next header may begin inside this frame's last two bytes
            inner = buf.find(HEADER, i + len(HEADER), end + 2)
            if 0 <= inner < end:
                skip.add(inner - i, host_time, notices)  # this frame is short: bytes were lost
                pos = inner
                continue
            skip.close(host_time, notices)
            starts.append(i)
            note_at.append(len(notices))
            pos = end
        if final:
            skip.add(n - pos, host_time, notices)
            skip.close(host_time, notices)
            pos = n
        frames = self._block(starts, note_at, host_time, notices)
        del buf[:pos]
        return Decoded(frames, notices)

    def _block(self, starts: list[int], note_at: list[int], host_time: float,
               notices: list[Notice]) -> FrameBlock | None:
        count = len(starts)
        if not count:
            return None
        buf = self._buf
        raw = bytearray(count * PAYLOAD_SIZE)
        with memoryview(buf) as view:
            for k, i in enumerate(starts):
                raw[k * PAYLOAD_SIZE:(k + 1) * PAYLOAD_SIZE] = view[i + 3:i + 3 + PAYLOAD_SIZE]
        last = starts[-1] + FRAME_SIZE
        self.last_trailer = bytes(buf[last - TRAILER_SIZE:last])
        values = np.frombuffer(raw, dtype=_WIRE).astype(np.uint16).reshape(count, ROWS, COLS)
        seq = np.full(count, -1, np.int64)
        flags = np.zeros(count, np.uint8)
        self._range.apply(values, seq, flags, self.counters, host_time, notices, note_at)
        self.counters.frames += count
        return FrameBlock.build(values, host_time, None, seq, flags)


def _partial_header_len(buf: bytearray, pos: int) -> int:
    """How many bytes at the end of ``buf`` (after ``pos``) could begin a header."""
    for size in (2, 1):
        if len(buf) - pos >= size and buf.endswith(HEADER[:size]):
            return size
    return 0
