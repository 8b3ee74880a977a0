"""Block regions on a pressure mat: where each block's footprint lies, and force per block.

A region is a rectangle of sensels ``rows r0..r1-1, cols c0..c1-1`` (half-open, like Python
slices), so a person can adjust it by four numbers. ``find_regions`` finds the block footprints
from a session's mean frame; ``block_channels`` turns a mat session into per-block channels
(``left``, ``right``, ``total``) that read like a load-cell session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles import Matrix
from sensing.mat.measures import MatMeasures, frame_measures, scaled_loaded
from sensing.mat.orientation import orientation, sensel_to_mm

REGION_SOURCES = ("auto", "auto_split", "person")


@dataclass(frozen=True)
class Region:
    """A named rectangle of sensels; ``source`` says who drew it (see REGION_SOURCES)."""

    name: str
    r0: int
    r1: int
    c0: int
    c1: int
    source: str = "auto"

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.r0, self.r1), slice(self.c0, self.c1)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Region:
        """A region from ``as_dict`` output; missing or extra keys are a ProfileError."""
        try:
            return cls(
                name=str(d["name"]),
                r0=int(d["r0"]), r1=int(d["r1"]), c0=int(d["c0"]), c1=int(d["c1"]),
                source=str(d.get("source", "person")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ProfileError(f"a mat region needs name, r0, r1, c0, c1: {err}") from err

    def overlaps(self, other: Region) -> bool:
        return (self.r0 < other.r1 and other.r0 < self.r1
                and self.c0 < other.c1 and other.c0 < self.c1)


def check_regions(regions: Iterable[Region], matrix: Matrix) -> list[Region]:
    """``regions`` as a list, after checking they fit the mat, are non-empty and do not overlap."""
    checked = list(regions)
    names = [r.name for r in checked]
    if len(set(names)) != len(names):
        raise ProfileError(f"mat region names must be unique: {', '.join(names)}")
    for r in checked:
        if r.name == "total":
            raise ProfileError("a mat region cannot be called 'total': that name is the whole mat")
        if not (0 <= r.r0 < r.r1 <= matrix.rows and 0 <= r.c0 < r.c1 <= matrix.cols):
            raise ProfileError(
                f"mat region {r.name!r} rows {r.r0}:{r.r1} cols {r.c0}:{r.c1} is empty or lies "
                f"outside the {matrix.rows}x{matrix.cols} mat"
            )
        if r.source not in REGION_SOURCES:
            raise ProfileError(f"mat region {r.name!r}: source must be one of {REGION_SOURCES}")
    for i, a in enumerate(checked):
        for b in checked[i + 1:]:
            if a.overlaps(b):
                raise ProfileError(f"mat regions {a.name!r} and {b.name!r} overlap")
    return checked


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of a small boolean grid: ``(labels, count)``, 0 = background.

    Breadth-first over the grid; meant for one mean frame per session (at most ~64x64).
    """
    rows, cols = mask.shape
    labels = np.zeros(mask.shape, dtype=np.int32)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        queue = [start]
        while queue:
            r, c = queue.pop()
            for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= nr < rows and 0 <= nc < cols and mask[nr, nc] and not labels[nr, nc]:
                    labels[nr, nc] = count
                    queue.append((nr, nc))
    return labels, count


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _lateral_cut(load: np.ndarray, box: list[int], axis: int, lo: int, hi: int) -> int | None:
    """The lightest line across the patient in the middle half of ``box``, kept within (lo, hi).

    None when that line is not a valley (at least half as light as the heavier side's lightest
    peak): then the load is one footprint, not two blocks.
    """
    r0, r1, c0, c1 = box
    profile = load[r0:r1, c0:c1].sum(axis=1 - axis)
    start = box[2 * axis]
    quarter = profile.size // 4
    middle = profile[quarter: profile.size - quarter]
    cut = int(np.clip(start + quarter + int(np.argmin(middle)), lo + 1, hi - 1))
    at = cut - start
    valley = profile[at]
    if valley > 0.5 * min(profile[:at].max(initial=0.0), profile[at:].max(initial=0.0)):
        return None
    return cut


def _split(boxes: list[list[int]], load: np.ndarray, axis: int) -> list[list[int]] | None:
    """Two rectangles that do not overlap, cut across the patient; None if it cannot be done."""
    lo_i, hi_i = 2 * axis, 2 * axis + 1
    a, b = (list(box) for box in sorted(boxes, key=lambda box: (box[lo_i], box[hi_i])))
    union = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]
    if b[hi_i] - a[lo_i] < 2:
        return None
    cut = _lateral_cut(load, union, axis, a[lo_i], b[hi_i])
    if cut is None:
        return None
    a[hi_i], b[lo_i] = cut, cut
    return [a, b]


def _region(name: str, box: list[int], source: str = "auto") -> Region:
    return Region(name, box[0], box[1], box[2], box[3], source)


def _named(boxes: list[list[int]], matrix: Matrix, source: list[str]) -> list[Region]:
    """Regions named by patient side: for two, ``left`` is the one nearer the patient's left."""
    centres = [((b[0] + b[1] - 1) / 2.0, (b[2] + b[3] - 1) / 2.0) for b in boxes]
    x_mm = [float(sensel_to_mm(r, c, matrix)[0]) for r, c in centres]
    order = sorted(range(len(boxes)), key=lambda i: -x_mm[i])  # patient's left first
    if len(boxes) == 2:
        names = ["left", "right"]
    elif len(boxes) == 1:
        names = ["block"]
    else:
        names = [f"region{k + 1}" for k in range(len(boxes))]
    return [_region(names[k], boxes[i], source[i]) for k, i in enumerate(order)]


def find_regions(
    mean_frame: np.ndarray,
    matrix: Matrix,
    n: int = 2,
    *,
    threshold: float | None = None,
    min_fraction: float = 0.05,
) -> list[Region]:
    """The ``n`` heaviest footprints on ``mean_frame`` as rectangles, named by patient side.

    A sensel belongs to a footprint when its raw mean is above ``threshold`` (default the
    matrix's noise threshold) and above ``min_fraction`` of the heaviest sensel. When two blocks
    touch and form one footprint it is cut across the patient at its lightest line
    (``source="auto_split"``). Fewer than ``n`` regions come back when the frame has fewer loads.
    """
    mean = np.asarray(mean_frame, dtype=np.float64)
    if mean.shape != (matrix.rows, matrix.cols):
        shape = f"{matrix.rows}x{matrix.cols}"
        raise ProfileError(f"mean frame shape {mean.shape} does not fit the {shape} mat")
    load, loaded = scaled_loaded(mean, matrix, threshold)
    peak = float(load.max(initial=0.0))
    if peak <= 0:
        return []
    mask = loaded & (load >= min_fraction * peak)
    labels, count = label_components(mask)
    weights = np.bincount(labels.ravel(), weights=load.ravel(), minlength=count + 1)[1:]
    keep = np.argsort(-weights, kind="stable")[:n] + 1
    boxes = [list(_bbox(labels == k)) for k in keep]
    sources = ["auto"] * len(boxes)
    if n == 2 and len(boxes) == 1:
        boxes = boxes * 2  # two blocks touching: one footprint to cut in two
    if n == 2 and (len(boxes) == 2 and _region("a", boxes[0]).overlaps(_region("b", boxes[1]))):
        split = _split(boxes, load * mask, orientation(matrix).lateral_axis)
        if split is None:  # no valley between them: one footprint, kept whole
            a, b = boxes
            boxes = [[min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]]
        else:
            boxes, sources = split, ["auto_split", "auto_split"]
    return _named(boxes, matrix, sources)


def region_measures(
    frames: np.ndarray,
    matrix: Matrix,
    regions: Iterable[Region],
    *,
    threshold: float | None = None,
    force_unit: str = "N",
) -> dict[str, MatMeasures]:
    """Per-frame measures inside each region, positions in whole-mat coordinates."""
    raw = np.asarray(frames)
    out: dict[str, MatMeasures] = {}
    for region in check_regions(regions, matrix):
        rs, cs = region.slices
        out[region.name] = frame_measures(
            raw[:, rs, cs], matrix, threshold=threshold, force_unit=force_unit,
            origin=(region.r0, region.c0),
        )
    return out


def block_channels(
    frames: np.ndarray,
    matrix: Matrix,
    regions: Iterable[Region],
    *,
    threshold: float | None = None,
    force_unit: str = "N",
) -> tuple[list[str], np.ndarray]:
    """``(names, values (n, k))``: each region's total, then ``total`` over the whole mat.

    Load outside every region is in ``total`` only, so ``total`` may exceed the block sum.
    The unit is ``total_unit(matrix, force_unit)``.
    """
    raw = np.asarray(frames)
    per_region = region_measures(raw, matrix, regions, threshold=threshold, force_unit=force_unit)
    whole = frame_measures(raw, matrix, threshold=threshold, force_unit=force_unit)
    names = [*per_region, "total"]
    columns = [m.total for m in per_region.values()] + [whole.total]
    return names, np.column_stack(columns) if columns else np.empty((len(raw), 0))


def regions_for_session(
    frames: np.ndarray,
    matrix: Matrix,
    stored: Iterable[Region | Mapping[str, Any]] | None = None,
    *,
    threshold: float | None = None,
) -> list[Region]:
    """The stored (person-adjusted) regions when given, else those found on the mean frame."""
    if stored is not None:
        regions = [r if isinstance(r, Region) else Region.from_dict(r) for r in stored]
        return check_regions(regions, matrix)
    raw = np.asarray(frames)
    if raw.shape[0] == 0:
        return []
    # Mean of the loaded part only: sensels at or below the noise threshold count as zero.
    limit = matrix.noise_threshold if threshold is None else threshold
    mean = np.where(raw > limit, raw, 0).mean(axis=0)
    # The noise threshold was applied frame by frame; the mean of what is left is all load.
    return find_regions(mean, matrix, threshold=min(limit, 0))


def region_corners_mm(region: Region, matrix: Matrix) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` of a region's outer sensel edges in patient mm."""
    rows = np.array([region.r0 - 0.5, region.r1 - 0.5])
    cols = np.array([region.c0 - 0.5, region.c1 - 0.5])
    x, y = sensel_to_mm(rows, cols, matrix)
    return float(x.min()), float(x.max()), float(y.min()), float(y.max())
