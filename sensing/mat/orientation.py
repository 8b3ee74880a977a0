"""Mat geometry: sensel coordinates to patient-oriented millimetres, and the patient view.

Sensel coordinates: ``row`` and ``col`` index the frame as stored (row 0 is the top of the image,
column 0 its left); a sensel's centre sits at its integer index. Patient coordinates are in mm
from the centre of the mat: ``x`` grows toward the patient's left, ``y`` toward the head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles import Matrix

# For each image edge: the frame axis it lies across (0 rows, 1 cols) and the sign of the step
# from the mat centre toward it, per index.
_EDGES: dict[str, tuple[int, float]] = {
    "top": (0, -1.0),
    "bottom": (0, 1.0),
    "left": (1, -1.0),
    "right": (1, 1.0),
}


@dataclass(frozen=True)
class Orientation:
    """Which frame axis runs toward the patient's left (x) and toward the head (y), and how."""

    x_axis: int
    x_sign: float
    y_axis: int
    y_sign: float
    x_pitch_mm: float
    y_pitch_mm: float
    x_size: int  # sensels along x
    y_size: int  # sensels along y

    @property
    def lateral_axis(self) -> int:
        """The frame axis (0 rows, 1 cols) that runs across the patient, left to right."""
        return self.x_axis


def orientation(matrix: Matrix) -> Orientation:
    """The patient orientation of ``matrix``; head and left on the same axis is a ProfileError."""
    try:
        y_axis, y_sign = _EDGES[matrix.head_edge]
        x_axis, x_sign = _EDGES[matrix.patient_left]
    except KeyError as err:
        raise ProfileError(
            f"[matrix] head_edge and patient_left must be top, bottom, left or right, "
            f"not {err.args[0]!r}"
        ) from None
    if x_axis == y_axis:
        raise ProfileError(
            f"[matrix] head_edge {matrix.head_edge!r} and patient_left {matrix.patient_left!r} "
            "lie on the same axis; patient_left must be an edge beside the head edge"
        )
    shape = (matrix.rows, matrix.cols)
    return Orientation(
        x_axis=x_axis,
        x_sign=x_sign,
        y_axis=y_axis,
        y_sign=y_sign,
        x_pitch_mm=float(matrix.pitch_mm[x_axis]),
        y_pitch_mm=float(matrix.pitch_mm[y_axis]),
        x_size=shape[x_axis],
        y_size=shape[y_axis],
    )


def sensel_to_mm(
    row: np.ndarray | float, col: np.ndarray | float, matrix: Matrix
) -> tuple[np.ndarray, np.ndarray]:
    """Patient ``(x_mm, y_mm)`` of sensel coordinates (fractional allowed; NaN stays NaN)."""
    o = orientation(matrix)
    index = (np.asarray(row, dtype=np.float64), np.asarray(col, dtype=np.float64))
    centre = ((matrix.rows - 1) / 2.0, (matrix.cols - 1) / 2.0)
    x = o.x_sign * (index[o.x_axis] - centre[o.x_axis]) * o.x_pitch_mm
    y = o.y_sign * (index[o.y_axis] - centre[o.y_axis]) * o.y_pitch_mm
    return x, y


def mat_extent_mm(matrix: Matrix) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` of the mat's outer edges in patient mm."""
    o = orientation(matrix)
    half_x = o.x_size * o.x_pitch_mm / 2.0
    half_y = o.y_size * o.y_pitch_mm / 2.0
    return (-half_x, half_x, -half_y, half_y)


# What each edge of a mat picture drawn head up (``patient_view`` with its origin at the lower
# left) shows: the same words on the live, replay and stored pictures.
PICTURE_EDGES = {"top": "HEAD", "left": "patient's RIGHT", "right": "patient's LEFT"}


def patient_view(frames: np.ndarray, matrix: Matrix) -> np.ndarray:
    """Frames ``(..., rows, cols)`` re-indexed as ``(..., y, x)``: index 0 is the feet/right side.

    Show the result with the origin at the lower left and ``mat_extent_mm`` as the extent, and
    the head is up and the patient's left is to the right, whatever the mat's mounting.
    """
    o = orientation(matrix)
    view = np.asarray(frames)
    if o.y_axis == 1:  # y runs along columns: swap the last two axes so y comes first
        view = np.swapaxes(view, -1, -2)
    if o.y_sign < 0:
        view = np.flip(view, axis=-2)
    if o.x_sign < 0:
        view = np.flip(view, axis=-1)
    return view
