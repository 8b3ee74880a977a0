"""A mat session as force-per-block channels: per-frame sums first, then force in a unit.

Block channels are made in two steps, so a stored session keeps the first and any unit asked
later comes out exactly as if it were computed from the frames: ``block_sums`` (per frame, each
region's and the whole mat's sum of loaded sensels, in no unit) and ``block_channels_of`` (those
sums through the session's tare, calibration and unit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from firmware_bridge.errors import SotlogError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix, Profile
from sensing.calibration.conversion import epochs, split_rows
from sensing.calibration.mat import calibrated_channels, uses_conversion, weighted_region_sums
from sensing.mat.measures import MatMeasures, frame_measures, total_factor, total_unit
from sensing.mat.regions import Region, region_measures, regions_for_session


class SessionHeader(Protocol):
    """What is read from a session header (``sensing.store.records.SessionInfo`` has it all):
    the profile, the conversion dict and the host time of session time 0 (its zero segments
    are in session time)."""

    @property
    def profile(self) -> Profile: ...

    @property
    def conversion(self) -> dict[str, Any]: ...

    @property
    def t0_host(self) -> float: ...

# Key of the conversion dict under which person-adjusted regions are kept (list of as_dict()).
REGIONS_KEY = "mat_regions"
# What a mat reads as while it records: its two block footprints, as find_regions names them,
# and the whole mat's total.
BLOCK_REGIONS = ("left", "right")
CHANNELS = (*BLOCK_REGIONS, "total")


def kept_regions(conversion: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """The person-adjusted regions in a conversion dict, or None to find them on the data."""
    found = (conversion or {}).get(REGIONS_KEY)
    return list(found) if found else None


def stored_regions(info: SessionHeader) -> list[dict[str, Any]] | None:
    """The person-adjusted regions stored with a session, or None to find them on the data."""
    return kept_regions(info.conversion)


@dataclass
class BlockSums:
    """Per frame, what block channels are made of, in no unit yet; columns are each region's,
    then the whole mat's (``names`` ends with ``total``).

    ``plain``: the sum of loaded ``raw * scale + offset`` (``MatMeasures.weight``; NaN where a
    sensel is missing). ``weighted``: the sum of loaded raw times the calibration's gains, kept
    when the conversion has a tare or a calibration (else None).
    """

    names: list[str]
    plain: np.ndarray
    weighted: np.ndarray | None = None

    def take(self, rows: slice | np.ndarray) -> BlockSums:
        return BlockSums(self.names, self.plain[rows],
                         None if self.weighted is None else self.weighted[rows])


def needs_weighted(conversion: dict[str, Any] | None) -> bool:
    """Whether any stretch of a session is converted through a tare or a calibration."""
    return any(uses_conversion(e.spec) for e in epochs(conversion))


def block_sums(conversion: dict[str, Any] | None, matrix: Matrix, frames: np.ndarray,
               regions: list[Region],
               measured: tuple[dict[str, MatMeasures], MatMeasures] | None = None) -> BlockSums:
    """The ``BlockSums`` of ``frames``; ``measured``: their ``region_measures`` and
    ``frame_measures`` when already at hand."""
    raw = np.asarray(frames)
    per, whole = measured or (region_measures(raw, matrix, regions), frame_measures(raw, matrix))
    plain = np.column_stack([*(m.weight for m in per.values()), whole.weight])
    weighted = (weighted_region_sums(conversion, matrix, raw, regions)
                if needs_weighted(conversion) else None)
    return BlockSums([*per, "total"], plain, weighted)


def block_channels_of(info: SessionHeader, sums: BlockSums, host_time: np.ndarray | None,
                      units: str = "N") -> tuple[list[str], np.ndarray, list[str]]:
    """``(names, values (n, k), unit per column)`` of frames whose sums are ``sums``, taken at
    ``host_time``: each stretch of the session through its own zero and calibration."""
    matrix = info.profile.matrix
    assert matrix is not None
    found = epochs(info.conversion, info.t0_host)
    parts = split_rows(found, host_time) or [(found[-1], slice(0, 0))]
    unit = total_unit(matrix, units)
    columns = []
    for epoch, rows in parts:
        if uses_conversion(epoch.spec):  # a tare or calibration: calibration.mat applies it
            if sums.weighted is None:
                raise SotlogError("the mat's sums were made without its tare or calibration: "
                                  "derive them again with the session's conversion")
            part, unit = calibrated_channels(
                epoch.spec, sums.weighted[rows], units,
                matrix.scale * total_factor(matrix, units), total_unit(matrix, units))
        else:
            part = sums.plain[rows] * total_factor(matrix, units)
            unit = total_unit(matrix, units)
        columns.append(part)
    return list(sums.names), np.concatenate(columns), [unit] * len(sums.names)


def session_block_channels(
    info: SessionHeader,
    block: FrameBlock,
    units: str = "N",
    stored: Iterable[Region | Mapping[str, Any]] | None = None,
) -> tuple[list[str], np.ndarray, list[str]] | None:
    """``(names, values (n, k), unit per column)`` of the frames in ``block``: each block
    region's total, then ``total``. None when the session is not a mat session.

    Regions are ``stored`` when given, else those kept with the session, else found on the mean
    of ``block``. A stored session's channels are ``Session.samples``, read from what was
    derived when it closed (``sensing.mat.derive``); this is for frames at hand (the live view).
    """
    matrix = info.profile.matrix
    if matrix is None:
        return None
    kept = stored if stored is not None else stored_regions(info)
    regions = regions_for_session(block.values, matrix, kept)
    sums = block_sums(info.conversion, matrix, block.values, regions)
    return block_channels_of(info, sums, block.host_time, units)
