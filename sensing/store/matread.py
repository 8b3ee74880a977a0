"""A stored mat session: force per block from its derived data; mean and measures by window.

A long mat session does not fit in memory as float frames (30 min of 48x48 at 50 frames/s is
415 MB raw, four times that as floats). Its regions and block sums are derived once, when it
closes (``sensing.mat.derive``, kept by ``sensing.store.derived``), so every window and every
face uses the same regions and force per block never decodes the frames; what else reads frames
here reads them by ``Session.frame_windows`` (a few hundred at a time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from firmware_bridge.errors import SotlogError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.mat.blocks import block_channels_of
from sensing.mat.derive import MatDerived, mean_regions
from sensing.mat.measures import MatMeasures, frame_measures
from sensing.mat.regions import Region, region_measures
from sensing.store.records import Samples, SessionInfo


class Session(Protocol):
    """What is read here of a stored session (``sensing.store.read.Session`` has it all)."""

    info: SessionInfo

    def frame_windows(self, t0: float | None = None,
                      t1: float | None = None) -> Iterator[FrameBlock]: ...

    def mat_regions(self) -> list[Any]: ...

    def mat_derived(self) -> MatDerived: ...


def session_matrix(session: Session) -> Matrix:
    """The session's mat geometry; a load-cell session is a one-line error."""
    matrix = session.info.profile.matrix
    if matrix is None:
        raise SotlogError(f"session {session.info.id} is a load-cell session, not a "
                          "pressure-mat session")
    return matrix


def found_regions(session: Session) -> list[Region]:
    """Regions found on the session's mean frame (sensels at or below the threshold as zero)."""
    return mean_regions(session.frame_windows(), session_matrix(session))


def span(time_s: np.ndarray, t0: float | None, t1: float | None) -> np.ndarray | slice:
    """Which of a session's frames have ``t0 <= time_s < t1``, as ``Session.frames`` keeps them
    (unbounded: every frame, even one without a time)."""
    if t0 is None and t1 is None:
        return slice(None)
    lo = -np.inf if t0 is None else float(t0)
    hi = np.inf if t1 is None else float(t1)
    return (time_s >= lo) & (time_s < hi)


def mat_samples(session: Session, units: str = "N", t0: float | None = None,
                t1: float | None = None) -> Samples:
    """Force per block region and ``total`` (``Session.samples`` for a mat), from the sums
    derived when the session closed: exactly what ``session_block_channels`` gives its frames."""
    derived = session.mat_derived()
    host_time = derived.frame["host_time"]
    time_s = host_time - session.info.t0_host
    keep = span(time_s, t0, t1)
    names, values, unit_list = block_channels_of(
        session.info, derived.sums.take(keep), host_time[keep], units)
    return Samples(time_s[keep], derived.frame["device_time"][keep], names, values, unit_list)


@dataclass
class MatSeries:
    """Per-frame measures of a span of a session: the whole mat and each region."""

    time_s: np.ndarray
    flags: np.ndarray
    whole: MatMeasures
    regions: dict[str, MatMeasures]


def _concat(parts: list[MatMeasures]) -> MatMeasures:
    first = parts[0]
    fields = ("total", "weight", "peak", "contact_area_cm2", "cop_row", "cop_col", "cop_x_mm",
              "cop_y_mm", "missing")
    arrays = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    return MatMeasures(**arrays, unit=first.unit, peak_unit=first.peak_unit)


def mat_series(session: Session, t0: float | None = None, t1: float | None = None,
               units: str = "N", regions: list[Region] | None = None) -> MatSeries:
    """Measures of every frame with ``t0 <= time_s < t1``, whole mat and per region."""
    matrix = session_matrix(session)
    use = session.mat_regions() if regions is None else regions
    times, flags, whole = [], [], []
    per: dict[str, list[MatMeasures]] = {r.name: [] for r in use}
    for block in session.frame_windows(t0, t1):
        times.append(block.host_time - session.info.t0_host)
        flags.append(block.flags)
        whole.append(frame_measures(block.values, matrix, force_unit=units))
        for name, m in region_measures(block.values, matrix, use, force_unit=units).items():
            per[name].append(m)
    if not whole:
        none = frame_measures(np.zeros((0, matrix.rows, matrix.cols)), matrix, force_unit=units)
        return MatSeries(np.empty(0), np.empty(0, np.uint8), none, {n: none for n in per})
    return MatSeries(np.concatenate(times), np.concatenate(flags), _concat(whole),
                     {n: _concat(p) for n, p in per.items()})


def mat_mean(session: Session, t0: float | None = None,
             t1: float | None = None) -> tuple[np.ndarray, int, int]:
    """``(mean raw frame, frames used, frames left out for missing sensels)`` over a span."""
    matrix = session_matrix(session)
    total = np.zeros((matrix.rows, matrix.cols))
    used = left_out = 0
    for block in session.frame_windows(t0, t1):
        raw = np.asarray(block.values, dtype=np.float64)
        complete = np.isfinite(raw).all(axis=(1, 2))
        total += raw[complete].sum(axis=0)
        used += int(complete.sum())
        left_out += int((~complete).sum())
    return (total / used if used else total), used, left_out
