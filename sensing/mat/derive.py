"""What a stored mat session keeps of its frames: regions, block sums and per-frame measures.

``derive`` reads a session's frames window by window and keeps one small value per frame for
each thing a face shows, so nothing after it decodes the frames again: the block regions, the
``BlockSums`` that block channels come from in any unit, the whole mat's peak, contact area and
centre of pressure, each region's centre of pressure, and the sensels at the converter's limit.
Regions found on the data need the mean of every frame first: a ``Recorder`` sums it while the
session records (``LoadedMean``), so a closing session is read once; an older one twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.mat.blocks import BlockSums, block_sums, kept_regions, needs_weighted
from sensing.mat.measures import frame_measures, saturated_sensels
from sensing.mat.regions import Region, find_regions, region_measures, regions_for_session

# Bumped whenever what ``derive`` computes changes: stored results of another version are
# derived again when next read.
DERIVED_VERSION = 1
FRAME = ("host_time", "device_time", "flags")  # of each frame as stored, copied
WHOLE = ("peak", "contact_area_cm2", "cop_x_mm", "cop_y_mm")  # of the whole mat, per frame
PER_REGION = ("cop_x_mm", "cop_y_mm")  # of each region, per frame


@dataclass
class MatDerived:
    """A mat session's derived data; every array has one row per stored frame, in order.

    ``regions_from``: ``person`` (kept with the session), ``found`` (on its mean frame) or
    ``none`` (no load to find them on). ``frame`` holds ``FRAME``, ``whole`` holds ``WHOLE``,
    ``per_region`` each region's ``PER_REGION``, ``saturated`` the count of sensels at
    ``raw_max`` or above.
    """

    regions: list[Region]
    regions_from: str
    sums: BlockSums
    frame: dict[str, np.ndarray]
    whole: dict[str, np.ndarray]
    per_region: dict[str, dict[str, np.ndarray]]
    saturated: np.ndarray

    def __len__(self) -> int:
        return int(self.saturated.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        """Every per-frame array by a flat name (what the store keeps, one blob each)."""
        out = {"plain": self.sums.plain, "saturated": self.saturated}
        if self.sums.weighted is not None:
            out["weighted"] = self.sums.weighted
        out.update({f"frame.{k}": v for k, v in self.frame.items()})
        out.update({f"whole.{k}": v for k, v in self.whole.items()})
        for name, got in self.per_region.items():
            out.update({f"region.{name}.{k}": v for k, v in got.items()})
        return out

    @classmethod
    def from_columns(cls, regions: list[Region], regions_from: str,
                     columns: dict[str, np.ndarray]) -> MatDerived:
        """The MatDerived whose ``columns()`` these are."""
        sums = BlockSums([*(r.name for r in regions), "total"], columns["plain"],
                         columns.get("weighted"))
        return cls(regions, regions_from, sums, {k: columns[f"frame.{k}"] for k in FRAME},
                   {k: columns[f"whole.{k}"] for k in WHOLE},
                   {r.name: {k: columns[f"region.{r.name}.{k}"] for k in PER_REGION}
                    for r in regions}, columns["saturated"])


class LoadedMean:
    """The mean frame regions are found on, summed as frames come: each sensel's loaded raw
    values (those at or below the noise threshold count as 0), and how many frames.

    Integer frames sum exactly in float64 (every sum stays far below 2**53), whatever the
    blocks, so a mean summed while a session records is the one its windows give afterwards
    (``exact``; float frames may differ in the last bit, so their sum is only used window by
    window).
    """

    def __init__(self, matrix: Matrix) -> None:
        self.limit = matrix.noise_threshold
        self.total: np.ndarray | None = None
        self.count = 0
        self.exact = True

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        self.exact = self.exact and np.issubdtype(values.dtype, np.integer)
        part = np.where(values > self.limit, values, 0).sum(axis=0, dtype=np.float64)
        self.total = part if self.total is None else self.total + part
        self.count += len(values)

    def regions(self, matrix: Matrix) -> list[Region]:
        """The regions found on the mean frame (none without a frame)."""
        if self.total is None or not self.count:
            return []
        # As regions_for_session: the threshold was applied frame by frame, what is left is load.
        return find_regions(self.total / self.count, matrix, threshold=min(self.limit, 0))


def mean_regions(blocks: Iterable[FrameBlock], matrix: Matrix) -> list[Region]:
    """Regions found on the mean of every frame in ``blocks`` (sensels at or below the noise
    threshold as zero), as ``regions_for_session`` finds them on frames held at once."""
    mean = LoadedMean(matrix)
    for block in blocks:
        mean.add(block.values)
    return mean.regions(matrix)


def derive(matrix: Matrix, conversion: dict[str, Any],
           windows: Callable[[], Iterable[FrameBlock]],
           mean: LoadedMean | None = None) -> MatDerived:
    """The derived data of a session with this mat and ``conversion``; ``windows()`` yields its
    frames in order, a window at a time. It is read once; twice when the regions are found on
    the data and ``mean`` (an exact ``LoadedMean`` of every frame, from the recording) is not
    given.
    """
    kept = kept_regions(conversion)
    if kept is not None:
        regions, regions_from = regions_for_session(np.empty((0,)), matrix, kept), "person"
    else:
        regions = (mean.regions(matrix) if mean is not None and mean.exact
                   else mean_regions(windows(), matrix))
        regions_from = "found" if regions else "none"
    parts: dict[str, list[np.ndarray]] = {}

    def add(name: str, value: np.ndarray) -> None:
        parts.setdefault(name, []).append(value)

    for block in windows():
        whole = frame_measures(block.values, matrix)
        per = region_measures(block.values, matrix, regions)
        sums = block_sums(conversion, matrix, block.values, regions, (per, whole))
        add("plain", sums.plain)
        if sums.weighted is not None:
            add("weighted", sums.weighted)
        add("saturated", saturated_sensels(block.values, matrix))
        for k in FRAME:
            add(f"frame.{k}", getattr(block, k))
        for k in WHOLE:
            add(f"whole.{k}", getattr(whole, k))
        for name, m in per.items():
            for k in PER_REGION:
                add(f"region.{name}.{k}", getattr(m, k))
    empty = _empty(regions, needs_weighted(conversion))
    columns = {k: np.concatenate(parts[k]) if k in parts else v for k, v in empty.items()}
    return MatDerived.from_columns(regions, regions_from, columns)


def _empty(regions: list[Region], weighted: bool) -> dict[str, np.ndarray]:
    """The columns of a session with no frames."""
    k = len(regions) + 1
    out = {"plain": np.empty((0, k)), "saturated": np.empty(0, np.int64)}
    if weighted:
        out["weighted"] = np.empty((0, k))
    out.update({"frame.host_time": np.empty(0), "frame.device_time": np.empty(0),
                "frame.flags": np.empty(0, np.uint8)})
    out.update({f"whole.{name}": np.empty(0) for name in WHOLE})
    out.update({f"region.{r.name}.{name}": np.empty(0) for r in regions for name in PER_REGION})
    return out
