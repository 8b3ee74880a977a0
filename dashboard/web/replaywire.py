"""A span of a mat session's frames in one binary body, for the replay's heat map.

``b"SMTS"``, the length of the head (uint32, little-endian), the head as JSON (spaces pad it to a
multiple of 8 bytes: ``livewire.framed``, as a live mat frame is), then ``n x rows x cols``
bytes: each frame of the picture (head up, ``dashboard.web.matview``) row by row, each sensel as
its place in the sensor's range, ``round((raw - raw_min) / (span_top - raw_min) * 254)`` where
``span_top`` is the span's highest sensel (at least ``raw_min + 1``, at most the sensor's
``raw_max``), and 255 where a sensel is missing. The head holds the frames' session times, each
frame's centre of pressure in the picture (null with no load), the session's block regions and
the facts a colour scale needs. A 48x48 frame is 2.3 KB: a 50 frame/s session plays at 115 KB/s
at 1x.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dashboard.web.livewire import framed
from dashboard.web.matview import picture, picture_facts, picture_point
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.mat.live import MAX_SIDE, live_image
from sensing.mat.measures import frame_measures, total_unit

MAGIC = b"SMTS"
LEVELS = 254  # 0..254 place in the range; 255 missing
MISSING = 255
MAX_SPAN_S = 120.0
MAX_FRAMES = 6000


def quantise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Each value's place in ``[low, high]`` as 0..LEVELS (uint8), MISSING where not finite."""
    v = np.asarray(values, dtype=np.float64)
    span = high - low or 1.0
    q = np.rint((np.clip(v, low, high) - low) / span * LEVELS)
    return np.where(np.isfinite(v), q, MISSING).astype(np.uint8)


def replay_frames(block: FrameBlock, matrix: Matrix, regions: list[dict[str, Any]],
                  t0_host: float) -> bytes:
    """The frames of ``block`` as one binary body (see the module's doc)."""
    raw = np.asarray(block.values)
    n = len(raw)
    if n:
        images = np.stack([live_image(f, MAX_SIDE)[0] for f in raw])
        factor = live_image(raw[0], MAX_SIDE)[1]
        m = frame_measures(raw, matrix, force_unit="N")
        rows, cols = picture_point(m.cop_row + 0.5, m.cop_col + 0.5, matrix)
        cop = [None if not np.isfinite(r) else [round(float(r), 3), round(float(c), 3)]
               for r, c in zip(np.atleast_1d(rows), np.atleast_1d(cols), strict=True)]
    else:
        images = np.zeros((0, matrix.rows, matrix.cols))
        factor, cop = 1, []
    shown = picture(images, matrix)
    facts = picture_facts({
        "rows": int(images.shape[1]), "cols": int(images.shape[2]), "factor": factor,
        "full_rows": matrix.rows, "full_cols": matrix.cols, "regions": regions,
        "raw_min": float(matrix.raw_min), "raw_max": float(matrix.raw_max),
        "unit": total_unit(matrix, "N")}, matrix)
    finite = shown[np.isfinite(shown)]
    top = float(min(matrix.raw_max, max(finite.max(initial=matrix.raw_min), matrix.raw_min + 1)))
    head = {**facts, "n": n, "levels": LEVELS, "missing": MISSING, "span_top": top,
            "time_s": np.round(block.host_time - t0_host, 4).tolist(), "cop": cop}
    body = quantise(shown, matrix.raw_min, top)
    return framed(MAGIC, head, np.ascontiguousarray(body).tobytes())
