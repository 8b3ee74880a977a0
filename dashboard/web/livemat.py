"""A pressure mat in the live view: force per block region, named as a stored session names them.

A stored mat session reads as channels ``left``, ``right`` and ``total`` (``sensing.mat``: block
regions found once on the mean of all its frames). The live view keeps the same names and the same
rule: regions are found on the mean of the frames so far (since Start while recording, else about
the last ``FORGET_S`` seconds), refreshed about once a second off the bridge thread. While no
footprint is found on a side, that block's value is unknown (null, a gap), except on an unloaded
mat, where every block carries 0.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from dashboard.web.matview import picture, picture_facts
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix, Profile
from sensing.calibration.mat import mat_calibration
from sensing.mat.blocks import BLOCK_REGIONS as BLOCKS
from sensing.mat.blocks import CHANNELS as NAMES
from sensing.mat.blocks import session_block_channels
from sensing.mat.live import live_frame
from sensing.mat.measures import total_unit
from sensing.mat.regions import Region, find_regions
from sensing.recording.conversion import Reading, reading_for

FORGET_S = 10.0  # before Start, older frames fade out of the mean the regions are found on
REFRESH_S = 1.0


class MatLive:
    """Turns mat frames into (left, right, total) values and keeps the regions they are read by."""

    def __init__(self, profile: Profile) -> None:
        assert profile.matrix is not None
        self.matrix: Matrix = profile.matrix
        self._plain = reading_for(profile)  # read with the profile alone when no device is set
        self.unit = total_unit(self.matrix, "N")
        self.regions: list[Region] = []
        self._lock = threading.Lock()
        self._sum = np.zeros((self.matrix.rows, self.matrix.cols), np.float64)
        self._frames = 0.0
        self._span_start: float | None = None
        self._since_start = False
        self._refreshed_at = 0.0
        self.last: FrameBlock | None = None  # the newest block, for the heat map
        self.frames_seen = 0

    # -- bridge thread: numpy only, short ---------------------------------------------------

    @staticmethod
    def unit_for(profile: Profile, conversion: dict[str, Any] | None) -> str:
        """The unit of a mat's live values: N when calibrated in force, else its own total's."""
        assert profile.matrix is not None
        return "N" if mat_calibration(conversion) else total_unit(profile.matrix, "N")

    def reduce(self, block: FrameBlock, reading: Reading | None = None) -> np.ndarray:
        """``(n, 3)`` values: each block region's total and the whole mat's, as a stored session
        reads them (``sensing.mat.blocks``) with the conversion in force."""
        raw = np.asarray(block.values)
        loaded = np.where(raw > self.matrix.noise_threshold, raw, 0).sum(axis=0, dtype=np.float64)
        with self._lock:
            if self._span_start is None:
                self._span_start = float(block.host_time[0])
            if (not self._since_start and len(block)
                    and float(block.host_time[-1]) - self._span_start > FORGET_S):
                self._sum *= 0.5  # let the older half fade: regions follow the blocks when moved
                self._frames *= 0.5
                self._span_start = float(block.host_time[-1]) - FORGET_S / 2
            self._sum += loaded
            self._frames += len(raw)
            regions = self.regions
        self.last = block
        self.frames_seen += len(raw)
        found = session_block_channels(reading or self._plain, block, "N", stored=regions)
        assert found is not None
        names, per, _ = found
        out = np.full((len(raw), len(NAMES)), np.nan)
        total = per[:, -1]
        out[:, 2] = total
        for j, name in enumerate(names[:-1]):
            if name in BLOCKS:
                out[:, BLOCKS.index(name)] = per[:, j]
        unloaded = total == 0  # nothing on the mat: every block carries 0, nothing is unknown
        out[unloaded, :2] = 0.0
        return out

    # -- the viewer side --------------------------------------------------------------------

    def start_session(self, host_time: float | None) -> None:
        """From Start the regions are found on the mean since Start, as the stored session's."""
        with self._lock:
            self._sum[:] = 0.0
            self._frames = 0.0
            self._span_start = host_time
            self._since_start = host_time is not None

    def refresh(self, force: bool = False) -> list[Region]:
        """Find the regions again on the mean so far (at most once a second unless ``force``)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._refreshed_at < REFRESH_S:
                return self.regions
            self._refreshed_at = now
            if not self._frames:
                return self.regions
            mean = self._sum / self._frames
        limit = self.matrix.noise_threshold
        # As sensing.mat.regions_for_session: the threshold was applied frame by frame.
        found = find_regions(mean, self.matrix, threshold=min(limit, 0))
        with self._lock:
            self.regions = found
        return found

    def frame(self) -> tuple[dict[str, Any], np.ndarray] | None:
        """The newest frame for the heat map: its facts with the regions, and its image
        (sensing.mat.live_frame), head up as every mat picture (matview); None before the
        first frame."""
        block = self.last
        if block is None or not len(block):
            return None
        facts, image = live_frame(block, self.matrix, self.regions, force_unit="N")
        return picture_facts(facts, self.matrix), picture(image, self.matrix)
