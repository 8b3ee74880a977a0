"""A stored mat session read window by window: its regions, force per block, mean and measures.

A long mat session does not fit in memory as float frames (30 min of 48x48 at 50 frames/s is
415 MB raw, four times that as floats), so everything here reads it by ``Session.frame_windows``
(a few hundred frames at a time) and keeps only per-frame results. Regions are found once per
session, on the mean of all its frames, so every window and every face uses the same regions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from firmware_bridge.errors import SotlogError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.mat.blocks import session_block_channels, stored_regions
from sensing.mat.measures import MatMeasures, frame_measures
from sensing.mat.regions import Region, find_regions, region_measures, regions_for_session
from sensing.store.records import Samples, SessionInfo


class Session(Protocol):
    """What is read here of a stored session (``sensing.store.read.Session`` has it all)."""

    info: SessionInfo

    def frame_windows(self, t0: float | None = None,
                      t1: float | None = None) -> Iterator[FrameBlock]: ...

    def mat_regions(self) -> list[Any]: ...


def session_matrix(session: Session) -> Matrix:
    """The session's mat geometry; a load-cell session is a one-line error."""
    matrix = session.info.profile.matrix
    if matrix is None:
        raise SotlogError(f"session {session.info.id} is a load-cell session, not a "
                          "pressure-mat session")
    return matrix


def found_regions(session: Session) -> list[Region]:
    """Regions found on the session's mean frame (sensels at or below the threshold as zero)."""
    matrix = session_matrix(session)
    total: np.ndarray | None = None
    count = 0
    limit = matrix.noise_threshold
    for block in session.frame_windows():
        raw = block.values
        part = np.where(raw > limit, raw, 0).sum(axis=0, dtype=np.float64)
        total = part if total is None else total + part
        count += len(block)
    if total is None or not count:
        return []
    # As regions_for_session: the threshold was applied frame by frame, what is left is load.
    return find_regions(total / count, matrix, threshold=min(limit, 0))


def session_regions(session: Session) -> list[Region]:
    """The person-adjusted regions kept with the session, else those found on its mean frame."""
    kept = stored_regions(session.info)
    if kept is not None:
        return regions_for_session(np.empty((0,)), session_matrix(session), kept)
    return found_regions(session)


def mat_samples(session: Session, units: str = "N", t0: float | None = None,
                t1: float | None = None, regions: list[Region] | None = None) -> Samples:
    """Force per block region and ``total`` (``Session.samples`` for a mat), window by window."""
    use = session.mat_regions() if regions is None else regions
    times, devices, parts = [], [], []
    names: list[str] = []
    unit_list: list[str] = []
    for block in session.frame_windows(t0, t1):
        found = session_block_channels(session.info, block, units, stored=use)
        assert found is not None
        names, values, unit_list = found
        times.append(block.host_time - session.info.t0_host)
        devices.append(block.device_time)
        parts.append(values)
    if not parts:
        empty = FrameBlock.empty(session.info.frame_shape)
        found = session_block_channels(session.info, empty, units, stored=use)
        assert found is not None
        names, values, unit_list = found
        return Samples(np.empty(0), np.empty(0), names, values, unit_list)
    return Samples(np.concatenate(times), np.concatenate(devices), names,
                   np.concatenate(parts), unit_list)


@dataclass
class MatSeries:
    """Per-frame measures of a span of a session: the whole mat and each region."""

    time_s: np.ndarray
    flags: np.ndarray
    whole: MatMeasures
    regions: dict[str, MatMeasures]


def _concat(parts: list[MatMeasures]) -> MatMeasures:
    first = parts[0]
    fields = ("total", "peak", "contact_area_cm2", "cop_row", "cop_col", "cop_x_mm", "cop_y_mm",
              "missing")
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


def mat_forces_and_measures(session: Session, units: str = "N") -> tuple[Samples, MatSeries]:
    """``mat_samples`` and the whole mat's ``mat_series`` (no region measures) in one read of
    the frames: what the report needs of a long mat session, at half the reading."""
    matrix = session_matrix(session)
    use = session.mat_regions()
    times, devices, parts, flags, whole = [], [], [], [], []
    names: list[str] = []
    unit_list: list[str] = []
    for block in session.frame_windows():
        found = session_block_channels(session.info, block, units, stored=use)
        assert found is not None
        names, values, unit_list = found
        times.append(block.host_time - session.info.t0_host)
        devices.append(block.device_time)
        parts.append(values)
        flags.append(block.flags)
        whole.append(frame_measures(block.values, matrix, force_unit=units))
    if not parts:
        return mat_samples(session, units, regions=use), mat_series(session, units=units,
                                                                    regions=[])
    t = np.concatenate(times)
    return (Samples(t, np.concatenate(devices), names, np.concatenate(parts), unit_list),
            MatSeries(t, np.concatenate(flags), _concat(whole), {}))


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
