"""Tare: the zero each channel is measured from, taken on a stretch of unloaded readings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.calibration.mat import weighted_sums


def tare_offsets(frames: FrameBlock, channel_names: Sequence[str], matrix: Matrix | None = None,
                 conversion: dict[str, Any] | None = None) -> dict[str, Any]:
    """Tare data from frames taken with the blocks unloaded: each channel's raw mean and SD.

    ``frames`` holds ``(n, k)`` load-cell values (``channel_names`` has k names) or
    ``(n, rows, cols)`` mat frames (``channel_names`` is ``["total"]``): each frame's sum of the
    sensels above ``matrix``'s noise threshold, weighted by the gains of the mat calibration in
    ``conversion`` (as ``sensing.calibration.mat`` sums them), or the plain sum without ``matrix``.
    Returns ``{"offsets": {name: mean}, "sd": {name: sd}, "frames": n, "window_s": span,
    "unit": "raw"}``; store ``offsets`` as the conversion dict's ``tare`` and the whole dict as
    the ``tare`` event's data. Frames with a non-finite value are left out and counted in
    ``"skipped"``; a CalibrationError when no usable frame is left.
    """
    values = np.asarray(frames.values, dtype=np.float64)
    if values.ndim == 3 and matrix is not None:
        values = weighted_sums(conversion, matrix, values)[1][:, None]
    elif values.ndim == 3:
        values = values.reshape(len(values), -1).sum(axis=1)[:, None]
    if values.ndim != 2 or values.shape[1] != len(channel_names):
        raise CalibrationError(
            f"tare: {len(channel_names)} channel names for frames of shape {frames.values.shape}")
    good = np.all(np.isfinite(values), axis=1)
    if not good.any():
        raise CalibrationError("the tare window held no usable frames; nothing was zeroed")
    kept = values[good]
    t = frames.host_time[good]
    names = list(channel_names)
    return {
        "offsets": dict(zip(names, kept.mean(axis=0).tolist(), strict=True)),
        "sd": dict(zip(names, kept.std(axis=0).tolist(), strict=True)),
        "frames": int(good.sum()), "skipped": int((~good).sum()),
        "window_s": float(t.max() - t.min()), "unit": "raw",
    }


def with_tare(conversion: dict[str, Any] | None, tare: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``conversion`` zeroed on ``tare`` (from ``tare_offsets``); the rest kept."""
    out = dict(conversion or {})
    out["tare"] = dict(tare["offsets"])
    out["tare_info"] = {k: v for k, v in tare.items() if k != "offsets"}
    return out
