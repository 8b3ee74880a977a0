"""A mat session as force-per-block channels for the read side (``Session.samples``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile
from sensing.calibration.mat import calibrated_block_channels, uses_conversion
from sensing.mat.measures import total_factor, total_unit
from sensing.mat.regions import Region, block_channels, regions_for_session

if TYPE_CHECKING:
    import numpy as np


class SessionHeader(Protocol):
    """What is read from a session header: ``sensing.store.read.SessionInfo`` has both."""

    profile: Profile
    conversion: dict[str, Any]

# Key of the conversion dict under which person-adjusted regions are kept (list of as_dict()).
REGIONS_KEY = "mat_regions"


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
    if uses_conversion(info.conversion):  # a tare or calibration: calibration.mat applies it
        names, values, unit = calibrated_block_channels(
            info.conversion, matrix, block.values, regions, units,
            matrix.scale * total_factor(matrix, units), total_unit(matrix, units))
        return names, values, [unit] * len(names)
    names, values = block_channels(block.values, matrix, regions, force_unit=units)
    return names, values, [total_unit(matrix, units)] * len(names)
