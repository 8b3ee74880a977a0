"""A mat session as force-per-block channels for the read side (``Session.samples``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile
from sensing.calibration.conversion import epochs, split_rows
from sensing.calibration.mat import calibrated_block_channels, uses_conversion
from sensing.mat.measures import total_factor, total_unit
from sensing.mat.regions import Region, block_channels, regions_for_session


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


def stored_regions(info: SessionHeader) -> list[dict[str, Any]] | None:
    """The person-adjusted regions stored with a session, or None to find them on the data."""
    found = (info.conversion or {}).get(REGIONS_KEY)
    return list(found) if found else None


def session_block_channels(
    info: SessionHeader,
    block: FrameBlock,
    units: str = "N",
    stored: Iterable[Region | Mapping[str, Any]] | None = None,
) -> tuple[list[str], np.ndarray, list[str]] | None:
    """``(names, values (n, k), unit per column)``: each block region's total, then ``total``.

    Regions are ``stored`` when given, else those kept with the session, else found on the mean
    of ``block``. None when the session is not a mat session.
    """
    matrix = info.profile.matrix
    if matrix is None:
        return None
    kept = stored if stored is not None else stored_regions(info)
    regions = regions_for_session(block.values, matrix, kept)
    found = epochs(info.conversion, info.t0_host)
    parts = split_rows(found, block.host_time) or [(found[-1], slice(0, 0))]
    names: list[str] = []
    unit = total_unit(matrix, units)
    columns = []
    for epoch, rows in parts:
        values = block.values[rows]
        if uses_conversion(epoch.spec):  # a tare or calibration: calibration.mat applies it
            names, part, unit = calibrated_block_channels(
                epoch.spec, matrix, values, regions, units,
                matrix.scale * total_factor(matrix, units), total_unit(matrix, units))
        else:
            names, part = block_channels(values, matrix, regions, force_unit=units)
            unit = total_unit(matrix, units)
        columns.append(part)
    return names, np.concatenate(columns), [unit] * len(names)
