"""Frames travel as numpy blocks: many frames, one object, with host and device time beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Per-frame flag bits (FrameBlock.flags). A flagged frame is kept, never reshaped or clipped.
FLAG_OUT_OF_RANGE = 1  # some value lies outside the sensor's declared raw range
FLAG_AFTER_GAP = 2  # first frame after a sequence gap or a reconnect


def whole_microseconds(t: Any) -> Any:
    """Seconds ``t`` (a float or an array) to the nearest whole microsecond, as ``k * 1e-6`` for
    a whole ``k``: the form every host time takes (``ports.arrival_time`` stamps reads so), which
    the store keeps exactly as integer microseconds (sensing/store/codec.py)."""
    return np.rint(np.multiply(t, 1e6)) * 1e-6


@dataclass
class FrameBlock:
    """A run of decoded frames.

    ``values`` has shape ``(n, channels)`` for load cells or ``(n, rows, cols)`` for a mat, in the
    raw units the device sent (counts, or whatever number a text line carried). ``host_time`` is
    ``time.monotonic()`` seconds when the frame's last byte arrived; ``device_time`` is seconds on
    the device clock, NaN where the device sends none; ``seq`` is the device sequence number, -1
    where the protocol has none; ``flags`` holds FLAG_* bits.
    """

    values: np.ndarray
    host_time: np.ndarray
    device_time: np.ndarray
    seq: np.ndarray
    flags: np.ndarray

    def __post_init__(self) -> None:
        n = self.values.shape[0]
        for name in ("host_time", "device_time", "seq", "flags"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"FrameBlock.{name} must have shape ({n},)")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:])

    def take(self, rows: slice | np.ndarray) -> FrameBlock:
        """The frames at ``rows`` (a slice, a boolean mask or indexes), every column alike."""
        return FrameBlock(self.values[rows], self.host_time[rows], self.device_time[rows],
                          self.seq[rows], self.flags[rows])

    @classmethod
    def build(
        cls,
        values: np.ndarray,
        host_time: float | np.ndarray,
        device_time: np.ndarray | None = None,
        seq: np.ndarray | None = None,
        flags: np.ndarray | None = None,
    ) -> FrameBlock:
        """Fill the optional columns with their 'not sent' values."""
        n = values.shape[0]
        ht = np.broadcast_to(np.asarray(host_time, dtype=np.float64), (n,)).copy()
        dt = np.full(n, np.nan) if device_time is None else np.asarray(device_time, np.float64)
        sq = np.full(n, -1, np.int64) if seq is None else np.asarray(seq, np.int64)
        fl = np.zeros(n, np.uint8) if flags is None else np.asarray(flags, np.uint8)
        return cls(values, ht, dt, sq, fl)

    @classmethod
    def empty(cls, frame_shape: tuple[int, ...], dtype: Any = np.float64) -> FrameBlock:
        return cls.build(np.empty((0, *frame_shape), dtype=dtype), 0.0)

    @classmethod
    def concat(cls, blocks: list[FrameBlock]) -> FrameBlock:
        if len(blocks) == 1:
            return blocks[0]
        return cls(
            np.concatenate([b.values for b in blocks]),
            np.concatenate([b.host_time for b in blocks]),
            np.concatenate([b.device_time for b in blocks]),
            np.concatenate([b.seq for b in blocks]),
            np.concatenate([b.flags for b in blocks]),
        )


@dataclass(frozen=True)
class Notice:
    """Something that was not data: a line or frame that could not be decoded, a gap, a disconnect.

    Decoders and the bridge emit notices; the recorder stores them as events, so nothing that went
    wrong on the wire is silent. ``kind`` is one of ``firmware_bridge.words.NOTICE_KINDS``.
    """

    host_time: float
    kind: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


# The fields of Counters that are levels (what the decoder holds at a moment), not counts.
LEVEL_COUNTERS = ("held_bytes", "held_lines")


@dataclass
class Counters:
    """What the decoder and bridge have seen.

    Every field is a count that only grows, except ``held_bytes`` and ``held_lines``: what the
    decoder holds at this moment (a partial line or frame, lines waiting to be judged). Every
    byte received is in exactly one of four places (docs/wire.md)::

        bytes == decoded_bytes + undecodable_bytes + cut_bytes + held_bytes

    and for the text protocols every line is exactly one thing::

        lines == frames + undecodable + wrong_size + header_lines + blank_lines + held_lines

    A difference of two snapshots (a session's counters) keeps both identities; its held
    fields are then the change over that time, negative when the session started with bytes
    held that it went on to decode.
    """

    bytes: int = 0
    frames: int = 0
    undecodable: int = 0  # lines (text), or runs of skipped bytes and unused frames (binary)
    crc_errors: int = 0
    seq_gaps: int = 0
    out_of_range: int = 0
    wrong_size: int = 0
    reconnects: int = 0
    decoded_bytes: int = 0  # bytes of used frames; of frame, header and blank lines, line ends
    undecodable_bytes: int = 0  # bytes that can never be part of a frame, counted when judged
    cut_bytes: int = 0  # a line or frame cut short where the stream was cut (lost, stopped)
    held_bytes: int = 0  # a level: bytes the decoder holds, not judged yet
    lines: int = 0  # text protocols: lines cut from the stream
    header_lines: int = 0
    blank_lines: int = 0
    held_lines: int = 0  # a level: whole lines the decoder holds, not judged yet
    stalls: int = 0  # the device fell silent while connected (the bridge's own)
    wrong_device: int = 0  # another device found at the port and not opened (the bridge's own)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)
