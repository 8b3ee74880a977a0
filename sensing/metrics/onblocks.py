"""On the blocks: when the total load counts as lying on the blocks, stored and live.

One rule for every face. The total is a mat's ``total`` channel, else the sum of the channels
in the first channel's unit. A frame is on the blocks when its total exceeds ``LOADED_SHARE`` of
the session's high total:

* over a stored session, the high total is its ``HIGH_PERCENTILE``-th percentile;
* live, the session is not over, so the high total is the highest total since Start, and the
  threshold is never below ``LIVE_FLOOR_N`` newtons (when the unit is N) while that is unknown.

Each frame counts until the next one; a pause longer than ``MAX_STEP_S`` (a disconnect) is not
counted. The rule is descriptive: it says when load was present, not whether it was right.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

LOADED_SHARE = 0.10
HIGH_PERCENTILE = 99.0
LIVE_FLOOR_N = 10.0
MAX_STEP_S = 1.0
TOTAL = "total"  # a derived channel (mats) that already sums the blocks


def total_load(values: np.ndarray, names: list[str], units: list[str]) -> np.ndarray:
    """Each frame's total: the ``total`` channel, else the channels in the first unit summed."""
    if TOTAL in names:
        return np.asarray(values[:, names.index(TOTAL)], dtype=np.float64)
    if not names:
        return np.zeros(len(values))
    same = [j for j, u in enumerate(units) if u == units[0]]
    return np.nansum(values[:, same], axis=1)


def loaded_mask(values: np.ndarray, names: list[str],
                units: list[str]) -> tuple[np.ndarray, float | None]:
    """Frames on the blocks over a whole session, and the threshold used (None: no load)."""
    if values.size == 0:
        return np.zeros(len(values), bool), None
    total = total_load(values, names, units)
    high = float(np.nanpercentile(total, HIGH_PERCENTILE)) if np.isfinite(total).any() else 0.0
    if not np.isfinite(high) or high <= 0:
        return np.zeros(total.shape, bool), None
    threshold = LOADED_SHARE * high
    return total > threshold, threshold


def steps(time_s: np.ndarray) -> np.ndarray:
    """How long each frame counts: until the next frame, at most ``MAX_STEP_S``; the last 0."""
    if time_s.size < 2:
        return np.zeros(time_s.size)
    return np.append(np.minimum(np.diff(time_s), MAX_STEP_S), 0.0)


def time_on_blocks(time_s: np.ndarray, mask: np.ndarray) -> float:
    """Seconds during which ``mask`` holds, each frame counting until the next one."""
    return float(steps(time_s)[mask].sum())


def cumulative_on_blocks(time_s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Seconds on the blocks up to each frame (a replay shows it as it plays)."""
    counted = np.where(mask, steps(time_s), 0.0)
    return np.concatenate([[0.0], np.cumsum(counted)[:-1]]) if time_s.size else np.zeros(0)


class LiveOnBlocks:
    """Counts time on the blocks while frames arrive; thread-safe, numpy per block of frames."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self._lock = threading.Lock()
        self.start(None)

    def start(self, host_time: float | None) -> None:
        """Count from ``host_time`` (None: stop counting); the high total starts afresh."""
        with self._lock:
            self._from = host_time
            self._peak = 0.0
            self._last: float | None = None
            self.loaded_s = 0.0
            self.loaded = False

    @property
    def threshold(self) -> float:
        floor = LIVE_FLOOR_N if self.unit == "N" else 0.0
        return max(floor, LOADED_SHARE * self._peak)

    def add(self, host_time: np.ndarray, total: np.ndarray) -> None:
        """Frames that arrived at ``host_time`` with these totals (in ``unit``).

        Whether the load is on the blocks is judged always (the live view shows it before Start
        too, by the highest total since the device opened or the last Start); time is counted
        only from the start given to ``start``.
        """
        if not len(host_time):
            return
        with self._lock:
            prev = self._last
            self._last = float(host_time[-1])
            self._peak = max(self._peak, float(np.nanmax(total, initial=0.0)))
            on = total > self.threshold
            self.loaded = bool(on[-1])
            if self._from is None:
                return
            keep = host_time >= self._from
            if not keep.any():
                return
            t = host_time[keep]
            start = t[0] if prev is None or prev < self._from else prev
            dt = np.minimum(np.diff(np.concatenate([[start], t])), MAX_STEP_S)
            # each frame counts from the one before it, so the step ending here is this frame's
            self.loaded_s += float(dt[on[keep]].sum())


def rule() -> dict[str, Any]:
    """The rule's numbers, for the pages and the docs."""
    return {"loaded_share": LOADED_SHARE, "high_percentile": HIGH_PERCENTILE,
            "live_floor_n": LIVE_FLOOR_N, "max_step_s": MAX_STEP_S, "total_channel": TOTAL}
