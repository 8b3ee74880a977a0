"""Rows on one regular grid, for the formats that state a single sampling rate (BIDS physio, C3D).

A device samples at its own steady rate; frames reach the host in bursts and sometimes not at
all (a dropout, a reconnect). Such a format gives row ``k`` the time ``start + k / rate``, so:

- the frames are cut into *runs* where the device gave no frame for a while: a frame flagged
  first after a gap, a jump in the device's sequence number, or an interval longer than
  ``GAP_PERIODS`` typical intervals (1.5 on the device's clock, which sampled the frames: one
  missing frame is a gap; 3 on the host's, which jitters with the link);
- the rate is the frames' own rate within the runs (frames - 1 over the time they span, summed
  over the runs), so a dropout never lowers it;
- within a run the frames take consecutive rows; between runs come as many empty rows as
  periods passed with no frame. Empty rows are written as missing (``n/a``, NaN): nothing is
  interpolated, and each written row keeps its frame's real ``time_s``.

The clock is the device's own (``device_time_s``) when every frame has one, else the host's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.frames import FLAG_AFTER_GAP

# An interval longer than this many typical intervals, on each clock, starts a new run.
GAP_PERIODS = {"device_time_s": 1.5, "time_s": 3.0}


@dataclass(frozen=True)
class Grid:
    """Where each frame goes on a regular grid of ``n_rows`` rows at ``rate_hz``."""

    rate_hz: float | None
    rate_source: str  # "runs" (measured within runs), "nominal" or "none"
    start_s: float  # session time (time_s) of row 0
    rows: np.ndarray  # the row of each frame, increasing
    n_rows: int
    clock: str  # the clock the runs were measured on: "device_time_s" or "time_s"
    gaps: list[tuple[int, int]]  # (first empty row, number of empty rows), in order

    def spread(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per frame) on the grid, as float64 with NaN in the empty rows."""
        out = np.full(self.n_rows, np.nan)
        out[self.rows] = values
        return out

    def row_time(self, row: int) -> float:
        """The session time the grid gives ``row``."""
        return self.start_s + row / self.rate_hz if self.rate_hz else self.start_s

    @property
    def empty_rows(self) -> int:
        return sum(n for _, n in self.gaps)


def _breaks(t: np.ndarray, seq: np.ndarray, flags: np.ndarray, periods: float) -> np.ndarray:
    """Indexes of the frames that start a new run (frame 0 excluded)."""
    step = np.diff(t)
    typical = float(np.median(step[step > 0])) if (step > 0).any() else 0.0
    cut = (flags[1:] & FLAG_AFTER_GAP) != 0
    known = (seq[1:] >= 0) & (seq[:-1] >= 0)
    cut |= known & (np.diff(seq) != 1)
    if typical > 0:
        cut |= step > periods * typical
    return np.flatnonzero(cut) + 1


def grid(time_s: np.ndarray, device_time_s: np.ndarray, seq: np.ndarray, flags: np.ndarray,
         nominal_hz: float | None) -> Grid:
    """The grid for frames at session times ``time_s`` (see the module docstring)."""
    n = int(time_s.size)
    use_device = n > 0 and bool(np.isfinite(device_time_s).all()) \
        and bool((np.diff(device_time_s) > 0).all())
    clock = "device_time_s" if use_device else "time_s"
    t = np.asarray(device_time_s if use_device else time_s, np.float64)
    cuts = _breaks(t, np.asarray(seq), np.asarray(flags), GAP_PERIODS[clock]) if n \
        else np.empty(0, np.int64)
    starts = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    spans = [(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True) if b > a]
    intervals = sum(b - a - 1 for a, b in spans)
    covered = sum(float(t[b - 1] - t[a]) for a, b in spans)
    if intervals > 0 and covered > 0:
        rate: float | None = intervals / covered
        source = "runs"
    elif nominal_hz:
        rate, source = float(nominal_hz), "nominal"
    else:
        rate, source = None, "none"
    rows = np.arange(n, dtype=np.int64)
    gaps: list[tuple[int, int]] = []
    shift = 0
    for (_, b_prev), (a, _) in zip(spans[:-1], spans[1:], strict=True):
        missing = max(0, round((t[a] - t[b_prev - 1]) * rate) - 1) if rate else 0
        if missing:
            gaps.append((int(a) + shift, missing))
        shift += missing
        rows[a:] += missing
    start = float(time_s[0]) if n else 0.0
    return Grid(rate, source, start, rows, int(rows[-1]) + 1 if n else 0, clock, gaps)
