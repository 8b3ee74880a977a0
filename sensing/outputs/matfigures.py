"""Shared drawing for mat pictures: a heat image in patient millimetres with its labels.

Figures are ``matplotlib.figure.Figure`` objects rendered by Agg; pyplot is never used, so no
global figure state is left behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from firmware_bridge.errors import ExportError
from firmware_bridge.profiles import Matrix
from sensing.mat.orientation import PICTURE_EDGES, mat_extent_mm, patient_view
from sensing.mat.regions import Region, region_corners_mm

CMAP = "viridis"
REGION_COLOR = "#ff3b30"
COP_COLOR = "#ffffff"
COP_OUTLINE = [patheffects.withStroke(linewidth=3, foreground="black")]
STILL_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
X_LABEL = "x (mm), + toward patient's left"
Y_LABEL = "y (mm), + toward head"


def still_format(path: Path) -> str:
    """The matplotlib format for a still picture, from the file suffix."""
    try:
        return STILL_FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(STILL_FORMATS)
        raise ExportError(f"cannot write a picture as {path.suffix or 'no suffix'!r}: "
                          f"use {known}") from None


def scaled(frames: np.ndarray, matrix: Matrix) -> np.ndarray:
    """Sensel values in the matrix's unit (``raw*scale+offset``), as floats, nothing thresholded."""
    return np.asarray(frames, dtype=np.float64) * matrix.scale + matrix.offset


def value_range(values: np.ndarray) -> tuple[float, float]:
    """Colour range ``(vmin, vmax)`` covering every finite value and zero."""
    finite = values[np.isfinite(values)]
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    return lo, hi if hi > lo else lo + 1.0


def mat_figure(matrix: Matrix | None = None, width: float = 6.4,
               dpi: float = 100) -> tuple[Figure, Axes]:
    """A figure with one axes, its height fitted to the mat's shape when ``matrix`` is given."""
    height = 0.75 * width
    if matrix is not None:
        x0, x1, y0, y1 = mat_extent_mm(matrix)
        height = float(np.clip(1.4 + (width - 2.2) * (y1 - y0) / (x1 - x0), 3.0, 1.5 * width))
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    return fig, fig.add_subplot()


def draw_mat(
    fig: Figure,
    ax: Axes,
    frame_values: np.ndarray,
    matrix: Matrix,
    *,
    vrange: tuple[float, float] | None = None,
    regions: Iterable[Region] | None = None,
    title: str = "",
) -> AxesImage:
    """One frame of sensel values (matrix unit) as a heat image, head up, with labels."""
    view = patient_view(frame_values, matrix)
    vmin, vmax = vrange if vrange is not None else value_range(view)
    extent = mat_extent_mm(matrix)
    image = ax.imshow(view, origin="lower", extent=extent, cmap=CMAP, vmin=vmin, vmax=vmax,
                      interpolation="nearest", aspect="equal")
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label(f"sensel value ({matrix.unit})")
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.set_title(title)
    _orientation_labels(ax, extent)
    for region in regions or ():
        draw_region(ax, region, matrix)
    return image


def _orientation_labels(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    x0, x1, y0, y1 = extent
    box = {"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.5"}
    def words(edge: str) -> str:
        return PICTURE_EDGES[edge].replace(" ", "\n")

    ax.text((x0 + x1) / 2, y1, words("top"), ha="center", va="top", fontsize=8, bbox=box)
    ax.text(x1, (y0 + y1) / 2, words("right"), ha="right", va="center", fontsize=8, bbox=box)
    ax.text(x0, (y0 + y1) / 2, words("left"), ha="left", va="center", fontsize=8, bbox=box)


def draw_region(ax: Axes, region: Region, matrix: Matrix) -> None:
    x0, x1, y0, y1 = region_corners_mm(region, matrix)
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=REGION_COLOR, lw=2))
    ax.text(x0, y1, f" {region.name}", color=REGION_COLOR, ha="left", va="bottom", fontsize=8)


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` in the format its suffix names; the file path comes back."""
    fmt = still_format(path)
    try:
        fig.savefig(path, format=fmt)
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from err
    return path
