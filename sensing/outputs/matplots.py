"""Pictures of pressure-mat sessions: heat maps, the mean frame, the centre-of-pressure path.

Stills are written as PNG, SVG or PDF by file suffix; ``write_animation`` writes GIF, or MP4
when ffmpeg is on PATH. Every picture is drawn head up with the patient's left to the right, in
millimetres from the mat centre (docs/mats.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from firmware_bridge.errors import ExportError
from firmware_bridge.profiles import Matrix
from sensing.mat.measures import MatMeasures, frame_measures
from sensing.mat.regions import Region
from sensing.outputs.animation import write_animation
from sensing.outputs.matfigures import (
    COP_COLOR,
    COP_OUTLINE,
    X_LABEL,
    Y_LABEL,
    draw_mat,
    mat_figure,
    save,
    scaled,
)
from sensing.outputs.matfigures import still_format as _still_format

__all__ = ["plot_cop", "plot_heatmap", "plot_mean", "plot_mean_frame", "write_animation"]


def plot_heatmap(
    frame: np.ndarray,
    matrix: Matrix,
    path: str | Path,
    regions: Iterable[Region] | None = None,
    cop: tuple[float, float] | None = None,
    title: str = "",
) -> Path:
    """One frame ``(rows, cols)`` as a heat map; ``cop`` is a centre of pressure in patient mm."""
    out = Path(path)
    _still_format(out)
    fig, ax = mat_figure(matrix)
    draw_mat(fig, ax, scaled(frame, matrix), matrix, regions=regions, title=title)
    if cop is not None and np.all(np.isfinite(cop)):
        ax.plot([cop[0]], [cop[1]], marker="+", ms=14, mew=2, color=COP_COLOR,
                path_effects=COP_OUTLINE, label="centre of pressure")
        ax.legend(loc="lower right", fontsize=8)
    return save(fig, out)


def plot_mean(
    frames: np.ndarray,
    matrix: Matrix,
    path: str | Path,
    regions: Iterable[Region] | None = None,
    cop_path: tuple[np.ndarray, np.ndarray] | None = None,
    title: str = "",
    *,
    show_cop: bool = True,
) -> Path:
    """The mean of ``frames`` with regions as rectangles and the centre-of-pressure path over it.

    ``cop_path`` is ``(x_mm, y_mm)``; when None it is measured from ``frames``.
    """
    out = Path(path)
    _still_format(out)
    raw = np.asarray(frames)
    if raw.ndim != 3 or raw.shape[0] == 0:
        raise ExportError("a mean picture needs at least one (rows, cols) frame")
    complete = np.isfinite(scaled(raw, matrix)).all(axis=(1, 2))
    if show_cop and cop_path is None:
        m = frame_measures(raw, matrix)
        cop_path = (m.cop_x_mm, m.cop_y_mm)
    mean = raw[complete].astype(np.float64).mean(axis=0) if complete.any() else raw[0]
    return plot_mean_frame(mean, matrix, out, int(complete.sum()), int((~complete).sum()),
                           regions, cop_path if show_cop else None, title)


def plot_mean_frame(
    mean_raw: np.ndarray,
    matrix: Matrix,
    path: str | Path,
    used: int,
    left_out: int = 0,
    regions: Iterable[Region] | None = None,
    cop_path: tuple[np.ndarray, np.ndarray] | None = None,
    title: str = "",
) -> Path:
    """A mean frame already computed (raw units) from ``used`` frames, as ``plot_mean`` draws it.

    ``left_out`` frames with missing sensels were not in the mean; ``cop_path`` is drawn if given.
    """
    out = Path(path)
    _still_format(out)
    if used <= 0:
        raise ExportError(f"all {left_out} frames have missing sensels: no mean to show"
                          if left_out else "a mean picture needs at least one frame")
    heading = f"mean of {used} frames"
    if left_out:
        heading += f" ({left_out} with missing sensels left out)"
    fig, ax = mat_figure(matrix)
    draw_mat(fig, ax, scaled(mean_raw, matrix), matrix, regions=regions,
             title=f"{title}\n{heading}" if title else heading)
    if cop_path is not None:
        ax.plot(cop_path[0], cop_path[1], color=COP_COLOR, lw=1.0, path_effects=COP_OUTLINE,
                label="centre of pressure path")
        ax.legend(loc="lower right", fontsize=8)
    return save(fig, out)


def plot_cop(
    times: np.ndarray,
    cop: MatMeasures | Mapping[str, MatMeasures],
    path: str | Path,
    title: str = "",
) -> Path:
    """Centre of pressure x and y (mm) over session time; one line per measure set given.

    Frames with no load have no centre of pressure and show as breaks in the lines.
    """
    out = Path(path)
    _still_format(out)
    series = {"mat": cop} if isinstance(cop, MatMeasures) else dict(cop)
    t = np.asarray(times, dtype=np.float64)
    for name, m in series.items():
        if len(m) != t.size:
            raise ExportError(f"centre of pressure {name!r} has {len(m)} frames but "
                              f"{t.size} times")
    fig = Figure(figsize=(7.0, 5.0), dpi=100, layout="constrained")
    ax_x, ax_y = fig.subplots(2, 1, sharex=True)
    for name, m in series.items():
        ax_x.plot(t, m.cop_x_mm, lw=1.0, label=name)
        ax_y.plot(t, m.cop_y_mm, lw=1.0, label=name)
    ax_x.set_ylabel(X_LABEL.replace(", ", "\n"))
    ax_y.set_ylabel(Y_LABEL.replace(", ", "\n"))
    ax_y.set_xlabel("time (s)")
    ax_x.set_title(title or "centre of pressure")
    ax_x.legend(loc="upper right", fontsize=8)
    for ax in (ax_x, ax_y):
        ax.grid(True, alpha=0.3)
    return save(fig, out)
