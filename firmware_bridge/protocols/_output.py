"""What one read of a text decoder produced, kept in arrival order: blocks of frames from the
bulk path, rows from the line-by-line paths, and notices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firmware_bridge.frames import FrameBlock, Notice


def frame_block(values: np.ndarray, host_time: np.ndarray,
                device_time: np.ndarray) -> FrameBlock:
    """FrameBlock.build for the arrays at hand, without its generic (and per-read costly) steps."""
    seq = np.empty(len(values), np.int64)
    seq.fill(-1)
    return FrameBlock(values, host_time, device_time, seq, np.zeros(len(values), np.uint8))


@dataclass
class Output:
    """Frames and notices of one read, in arrival order."""

    blocks: list[FrameBlock] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    hosts: list[float] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def close_rows(self) -> None:
        """Turn the rows gathered so far into a block, before a bulk block follows them."""
        if self.rows:
            self.blocks.append(frame_block(np.array(self.rows, np.float64),
                                           np.array(self.hosts), np.array(self.times)))
            self.rows, self.times, self.hosts = [], [], []
