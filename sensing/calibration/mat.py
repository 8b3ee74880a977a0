"""A mat session's tare and calibration on the read side: force per block region and in total.

A mat calibration (``mat_total``) fits newtons against the gain-weighted sum of the loaded
sensels (``raw > noise_threshold``); its per-sensel gains travel in the session's conversion dict.
The total force is the fit at ``sum - tare`` (the tare key is ``total``, in the same summed
units); each block region gets the share of that force its own weighted sum holds, so the
regions add up to the total wherever all the load lies inside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from firmware_bridge.profiles import Matrix
from sensing.calibration.conversion import FITS, check_unit
from sensing.calibration.gains import decode_gains


def mat_calibration(conversion: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``total`` calibration spec of a mat session's conversion dict, if any."""
    cal = (conversion or {}).get("calibration") or {}
    spec = (cal.get("channels") or {}).get("total")
    return dict(spec) if spec else None


def uses_conversion(conversion: dict[str, Any] | None) -> bool:
    """True when a mat session has a calibration or a tare to apply."""
    return mat_calibration(conversion) is not None or "total" in ((conversion or {}).get("tare")
                                                                  or {})


def weighted_sums(conversion: dict[str, Any] | None, matrix: Matrix,
                  frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(loaded, sums)``: sensels above the noise threshold times their calibration gains
    (1 without one), ``(n, rows, cols)``; and each frame's sum, ``(n,)``."""
    spec = mat_calibration(conversion)
    raw = np.asarray(frames, dtype=np.float64)
    loaded = np.where(raw > matrix.noise_threshold, raw, 0.0)
    if spec is not None and spec.get("gains"):
        loaded = loaded * decode_gains(spec["gains"]).astype(np.float64)
    return loaded, loaded.reshape(len(raw), -1).sum(axis=1)


def weighted_region_sums(conversion: dict[str, Any] | None, matrix: Matrix,
                         frames: np.ndarray, regions: Sequence[Any]) -> np.ndarray:
    """``(n, k)``: each region's weighted sum (see ``weighted_sums``), then the whole mat's: what
    ``calibrated_channels`` turns into force."""
    raw = np.asarray(frames, dtype=np.float64)
    loaded, weighted = weighted_sums(conversion, matrix, raw)
    columns = [loaded[:, rs, cs].reshape(len(raw), -1).sum(axis=1)
               for rs, cs in (region.slices for region in regions)]
    return np.column_stack([*columns, weighted])


def calibrated_channels(conversion: dict[str, Any], sums: np.ndarray, units: str,
                        fallback_factor: float = 1.0,
                        fallback_unit: str = "raw") -> tuple[np.ndarray, str]:
    """``(values (n, k), unit)`` from ``weighted_region_sums``: each region's force, then the
    total's.

    Without a calibration, the tared sum is scaled by ``fallback_factor`` (the profile's own
    scale to the output unit) into ``fallback_unit``.
    """
    spec = mat_calibration(conversion)
    weighted = sums[:, -1]
    tare = (conversion.get("tare") or {}).get("total")
    if spec is not None:
        zero = float(tare) if tare is not None else float(spec.get("zero_raw", 0.0))
        total = FITS[spec.get("fit", "linear")](spec)(weighted - zero) / check_unit(units)
        unit = units
    else:
        total = (weighted - float(tare or 0.0)) * fallback_factor
        unit = fallback_unit
    safe = np.where(weighted > 0, weighted, 1.0)
    columns = [np.where(weighted > 0, total * sums[:, j] / safe, 0.0)
               for j in range(sums.shape[1] - 1)]
    return np.column_stack([*columns, total]), unit

