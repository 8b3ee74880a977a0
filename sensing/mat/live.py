"""The newest mat frame as a small JSON-friendly dict, for a live heat map in the browser."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.mat.measures import frame_measures, total_unit
from sensing.mat.regions import Region, block_channels, check_regions

MAX_SIDE = 48  # a frame larger than this on either side is sent as block means


def _number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def downsample(frame: np.ndarray, factor: int) -> np.ndarray:
    """Means of ``factor x factor`` sensel blocks (edge blocks may be smaller).

    A block holding a missing (NaN) sensel is NaN: its mean is not known.
    """
    values = np.asarray(frame, dtype=np.float64)
    if factor <= 1:
        return values
    rows, cols = values.shape
    pad = ((0, -rows % factor), (0, -cols % factor))
    padded = np.pad(values, pad)
    real = np.pad(np.ones_like(values), pad)
    shape = (padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    sums = padded.reshape(shape).sum(axis=(1, 3))
    counts = real.reshape(shape).sum(axis=(1, 3))
    return sums / counts


def live_image(frame: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, int]:
    """(image, factor): ``frame`` itself, in its own dtype, when no side exceeds ``max_side``;
    else the means of ``factor x factor`` sensel blocks rounded to whole numbers (float64, NaN
    where a block holds a missing sensel)."""
    raw = np.asarray(frame)
    factor = max(1, math.ceil(max(raw.shape) / max(1, max_side)))
    if factor == 1:
        return raw, 1
    return np.rint(downsample(raw, factor)), factor


def live_frame(
    frame_block: FrameBlock,
    matrix: Matrix,
    regions: Iterable[Region | Mapping[str, Any]] | None = None,
    *,
    max_side: int = MAX_SIDE,
    force_unit: str = "N",
) -> tuple[dict[str, Any], np.ndarray]:
    """(facts, image) of the last frame of ``frame_block``: ``live_payload`` without ``values``,
    and the image (``live_image``) those values are read from, for a binary message."""
    if len(frame_block) == 0:
        raise ValueError("live_payload needs a block with at least one frame")
    raw = np.asarray(frame_block.values[-1])
    rows, cols = raw.shape
    small, factor = live_image(raw, max_side)
    use = check_regions([r if isinstance(r, Region) else Region.from_dict(r)
                         for r in (regions or ())], matrix)
    m = frame_measures(raw[np.newaxis], matrix, force_unit=force_unit)
    names, per = block_channels(raw[np.newaxis], matrix, use, force_unit=force_unit)
    totals = dict(zip(names, per[0].tolist(), strict=True))
    facts = {
        "rows": int(small.shape[0]),
        "cols": int(small.shape[1]),
        "factor": factor,
        "full_rows": rows,
        "full_cols": cols,
        "raw_min": float(matrix.raw_min),
        "raw_max": float(matrix.raw_max),
        "host_time": float(frame_block.host_time[-1]),
        "device_time": _number(float(frame_block.device_time[-1])),
        "seq": int(frame_block.seq[-1]),
        "flags": int(frame_block.flags[-1]),
        "head_edge": matrix.head_edge,
        "patient_left": matrix.patient_left,
        "cop": (None if not np.isfinite(m.cop_row[0])
                else {"row": float(m.cop_row[0]), "col": float(m.cop_col[0]),
                      "x_mm": float(m.cop_x_mm[0]), "y_mm": float(m.cop_y_mm[0])}),
        "contact_area_cm2": _number(float(m.contact_area_cm2[0])),
        "peak": _number(float(m.peak[0])),
        "peak_unit": m.peak_unit,
        "total": _number(totals["total"]),
        "unit": total_unit(matrix, force_unit),
        "regions": [{**r.as_dict(), "total": _number(totals[r.name])} for r in use],
    }
    return facts, small


def live_payload(
    frame_block: FrameBlock,
    matrix: Matrix,
    regions: Iterable[Region | Mapping[str, Any]] | None = None,
    *,
    max_side: int = MAX_SIDE,
    force_unit: str = "N",
) -> dict[str, Any]:
    """The last frame of ``frame_block`` for a live view (see docs/mats.md, *Live view*).

    ``values`` is the raw frame, row by row (stored image orientation), as a flat list of ints,
    downsampled by block means when a side exceeds ``max_side``; a missing sensel is None.
    Centre of pressure and region boxes are in full-resolution sensel coordinates.
    """
    facts, small = live_frame(frame_block, matrix, regions, max_side=max_side,
                              force_unit=force_unit)
    finite = np.isfinite(small)
    boxed = np.rint(np.where(finite, small, 0)).astype(np.int64).astype(object)
    boxed[~finite] = None  # a block with a missing sensel has no value to show
    values: list[int | None] = boxed.ravel().tolist()
    return {**facts, "values": values}
