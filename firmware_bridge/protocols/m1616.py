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
from firmware_bridge.profiles import refuse, show
from firmware_bridge.protocols import mat_of_shape, refuse_options
from firmware_bridge.protocols._binary import BinaryDecoder, gather

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


class M1616Decoder(BinaryDecoder):
    """Decodes M1616 frames into (n, 16, 16) native uint16 values."""

    name = "m1616"
    sync = HEADER

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile, np.dtype(np.uint16))
        if profile.matrix is None or self.frame_shape != (ROWS, COLS):
            raise ProtocolError(f"profile {profile.name!r}: m1616 needs a 16x16 [matrix]")
        self.last_trailer = b""

    @classmethod
    def check_profile(cls, profile: Profile) -> None:
        """A 16x16 mat of uint16 values; m1616 has no options."""
        refuse_options(profile, ())
        dtype = mat_of_shape(profile, ROWS, COLS).dtype
        if dtype != "uint16":
            raise refuse(profile, "[matrix] dtype",
                         f'm1616 sends uint16 values: must be "uint16", not {show(dtype)}')

    @classmethod
    def read_size(cls, profile: Profile) -> int:
        return FRAME_SIZE

    def _frame_size(self, view: memoryview, i: int, final: bool, host_time: float,
                    notices: list[Notice]) -> int:
        end = i + FRAME_SIZE
        if len(view) < end:
            return 0
        buf = self._buf
        if not final and len(buf) < end + 2 and buf[end - 2:end].endswith(_HEADER_PREFIXES):
            return 0  # wait: the next header may begin inside this frame's last two bytes
        inner = buf.find(HEADER, i + len(HEADER), end + 2)
        if 0 <= inner < end:
            return i - inner  # this frame is short: bytes were lost
        return FRAME_SIZE

    def _take(self, view: memoryview, i: int, host_time: float, notices: list[Notice]) -> bool:
        return True

    def _block(self, view: memoryview, starts: list[int], note_at: list[int], host_time: float,
               notices: list[Notice]) -> FrameBlock:
        count = len(starts)
        raw = gather(view, [i + len(HEADER) for i in starts], PAYLOAD_SIZE)
        last = starts[-1] + FRAME_SIZE
        self.last_trailer = bytes(view[last - TRAILER_SIZE:last])
        values = np.frombuffer(raw, dtype=_WIRE).astype(np.uint16).reshape(count, ROWS, COLS)
        seq = np.full(count, -1, np.int64)
        return self._frames(values, None, seq, np.zeros(count, np.uint8), note_at, host_time,
                            notices)
