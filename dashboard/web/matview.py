"""A mat frame as every picture shows it: head at the top, the patient's right on the left.

That is ``sensing.mat.orientation.patient_view`` drawn head up, as the stored figures draw it
(``sensing.outputs.matfigures``); the live and replay heat maps get their frames, block regions
and centre of pressure already turned this way, with the words for the edges, so no page keeps
a rule of its own about a mat's mounting. Coordinates are continuous full-resolution sensel
coordinates (sensel ``i`` spans ``[i, i + 1)``) of the picture.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from firmware_bridge.profiles import Matrix
from sensing.mat.orientation import PICTURE_EDGES, orientation, patient_view


def picture(frames: np.ndarray, matrix: Matrix) -> np.ndarray:
    """Frames ``(..., rows, cols)`` as the picture's ``(..., y, x)``: row 0 at the head."""
    return np.flip(patient_view(frames, matrix), axis=-2)


Coordinate = TypeVar("Coordinate", float, np.ndarray)


def picture_point(row: Coordinate, col: Coordinate, matrix: Matrix
                  ) -> tuple[Coordinate, Coordinate]:
    """A point of the frame as stored (or arrays of them), in the picture: ``(row, col)`` from
    its top left."""
    o = orientation(matrix)
    point, shape = (row, col), (matrix.rows, matrix.cols)
    y, x = point[o.y_axis], point[o.x_axis]
    return (y if o.y_sign < 0 else shape[o.y_axis] - y,
            x if o.x_sign > 0 else shape[o.x_axis] - x)


def picture_box(box: dict[str, Any], matrix: Matrix) -> dict[str, Any]:
    """A region's ``r0, r1, c0, c1`` (ends exclusive) in the picture."""
    a = picture_point(box["r0"], box["c0"], matrix)
    b = picture_point(box["r1"], box["c1"], matrix)
    return {**box, "r0": min(a[0], b[0]), "r1": max(a[0], b[0]),
            "c0": min(a[1], b[1]), "c1": max(a[1], b[1])}


def picture_facts(facts: dict[str, Any], matrix: Matrix) -> dict[str, Any]:
    """A frame's facts (``sensing.mat.live_frame``) in the picture: its size, regions and centre
    of pressure turned, the edges' words, and the sensel values' unit and scale."""
    out = {k: v for k, v in facts.items() if k not in ("head_edge", "patient_left")}
    if orientation(matrix).y_axis == 1:  # the head along the columns: the picture is turned
        out["rows"], out["cols"] = facts["cols"], facts["rows"]
        out["full_rows"], out["full_cols"] = facts["full_cols"], facts["full_rows"]
    out["regions"] = [picture_box(r, matrix) for r in facts.get("regions") or ()]
    cop = facts.get("cop")
    if cop is not None:  # a sensel index is its centre
        row, col = picture_point(cop["row"] + 0.5, cop["col"] + 0.5, matrix)
        out["cop"] = {**cop, "row": row, "col": col}
    out["edges"] = PICTURE_EDGES
    out.update(sensel_unit=matrix.unit, scale=float(matrix.scale), offset=float(matrix.offset))
    return out


def stored_point(row: float, col: float, matrix: Matrix) -> tuple[float, float]:
    """A point of the picture (``picture_point``'s answer) back in the frame as stored."""
    o = orientation(matrix)
    shape = (matrix.rows, matrix.cols)
    y = row if o.y_sign < 0 else shape[o.y_axis] - row
    x = col if o.x_sign > 0 else shape[o.x_axis] - col
    point = [0.0, 0.0]
    point[o.y_axis], point[o.x_axis] = y, x
    return point[0], point[1]


def stored_box(box: dict[str, Any], matrix: Matrix) -> dict[str, Any]:
    """A region drawn on the picture (``r0, r1, c0, c1``, ends exclusive) as the frame is stored."""
    a = stored_point(box["r0"], box["c0"], matrix)
    b = stored_point(box["r1"], box["c1"], matrix)
    return {**box, "r0": int(min(a[0], b[0])), "r1": int(max(a[0], b[0])),
            "c0": int(min(a[1], b[1])), "c1": int(max(a[1], b[1]))}
