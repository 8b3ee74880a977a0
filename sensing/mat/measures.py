"""Per-frame measures of a pressure mat: total, peak, contact area, centre of pressure.

Everything is computed on whole blocks of frames ``(n, rows, cols)`` with numpy, one value per
frame. A sensel counts as loaded when its raw value is above the threshold (default: the
matrix's ``noise_threshold``); only loaded sensels enter the total, the area and the centre of
pressure. A frame with no load has a NaN centre of pressure: there is none to report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles import Matrix
from firmware_bridge.words import FORCE_UNITS
from sensing.mat.orientation import sensel_to_mm

# Pressure units a matrix may declare, in pascal: pressure x sensel area is a force.
PRESSURE_UNITS: dict[str, float] = {"kPa": 1000.0, "mmHg": 133.322387415, "Pa": 1.0}


@dataclass
class MatMeasures:
    """One value per frame for each measure; ``unit`` is the unit of ``total``.

    ``peak`` is the largest loaded sensel value in ``peak_unit`` (the matrix's own unit after
    scale/offset). ``missing`` counts NaN sensels per frame; a frame with any has NaN measures.
    ``weight`` is ``total`` before its unit: the sum of the loaded scaled values (what is stored
    of a session, so any unit asked later comes out as ``total`` would).
    """

    total: np.ndarray
    weight: np.ndarray
    peak: np.ndarray
    contact_area_cm2: np.ndarray
    cop_row: np.ndarray
    cop_col: np.ndarray
    cop_x_mm: np.ndarray
    cop_y_mm: np.ndarray
    missing: np.ndarray
    unit: str
    peak_unit: str

    def __len__(self) -> int:
        return int(self.total.shape[0])


def sensel_area_cm2(matrix: Matrix) -> float:
    """Area of one sensel in cm², from the row and column pitch."""
    return float(matrix.pitch_mm[0]) * float(matrix.pitch_mm[1]) / 100.0


def total_unit(matrix: Matrix, force_unit: str = "N") -> str:
    """The unit ``total`` comes in: ``force_unit`` when the mat measures force or pressure."""
    if matrix.unit in FORCE_UNITS or matrix.unit in PRESSURE_UNITS:
        _check_force_unit(force_unit)
        return force_unit
    return matrix.unit


def _check_force_unit(unit: str) -> None:
    if unit not in FORCE_UNITS:
        known = ", ".join(FORCE_UNITS)
        raise ProfileError(f"force unit must be one of {known}, not {unit!r}")


def total_factor(matrix: Matrix, force_unit: str = "N") -> float:
    """Factor from the sum of scaled sensel values to ``total_unit(matrix, force_unit)``."""
    if matrix.unit in FORCE_UNITS:
        _check_force_unit(force_unit)
        return FORCE_UNITS[matrix.unit] / FORCE_UNITS[force_unit]
    if matrix.unit in PRESSURE_UNITS:
        _check_force_unit(force_unit)
        area_m2 = sensel_area_cm2(matrix) * 1e-4
        return PRESSURE_UNITS[matrix.unit] * area_m2 / FORCE_UNITS[force_unit]
    return 1.0


def scaled_loaded(
    frames: np.ndarray, matrix: Matrix, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(values, loaded)``: ``raw*scale+offset`` where raw > threshold, else 0; and the mask."""
    raw = np.asarray(frames)
    limit = matrix.noise_threshold if threshold is None else threshold
    loaded = raw > limit
    values = raw.astype(np.float64, copy=True)
    if matrix.scale != 1.0:
        values *= matrix.scale
    if matrix.offset != 0.0:
        values += matrix.offset
    values[~loaded] = 0.0
    return values, loaded


def _missing(raw: np.ndarray) -> np.ndarray:
    if not np.issubdtype(raw.dtype, np.floating):
        return np.zeros(raw.shape[0], dtype=np.int64)
    return np.isnan(raw).sum(axis=(1, 2)).astype(np.int64)


def frame_measures(
    frames: np.ndarray,
    matrix: Matrix,
    *,
    threshold: float | None = None,
    force_unit: str = "N",
    origin: tuple[int, int] = (0, 0),
) -> MatMeasures:
    """Measures of each frame in ``frames`` ``(n, rows, cols)`` (or one ``(rows, cols)`` frame).

    ``threshold`` is in raw units. ``origin`` is the (row, col) of ``frames[:, 0, 0]`` on the mat,
    for a block cut out of a larger frame, so positions stay in whole-mat coordinates.
    """
    raw = np.asarray(frames)
    if raw.ndim == 2:
        raw = raw[np.newaxis]
    if raw.ndim != 3:
        raise ProfileError(f"mat frames must be (n, rows, cols), not shape {raw.shape}")
    n, rows, cols = raw.shape
    values, loaded = scaled_loaded(raw, matrix, threshold)

    per_row = values.sum(axis=2)  # (n, rows)
    per_col = values.sum(axis=1)  # (n, cols)
    weight = per_row.sum(axis=1)
    peak = values.max(axis=(1, 2), initial=0.0) if rows * cols else np.zeros(n)
    area = loaded.sum(axis=(1, 2)) * sensel_area_cm2(matrix)

    row_index = np.arange(rows, dtype=np.float64) + origin[0]
    col_index = np.arange(cols, dtype=np.float64) + origin[1]
    has_load = weight > 0
    safe = np.where(has_load, weight, 1.0)
    cop_row = np.where(has_load, per_row @ row_index / safe, np.nan)
    cop_col = np.where(has_load, per_col @ col_index / safe, np.nan)

    missing = _missing(raw)
    bad = missing > 0
    if bad.any():  # a NaN sensel makes its frame's measures unknown, not smaller
        for arr in (weight, cop_row, cop_col):
            arr[bad] = np.nan
        peak = np.where(bad, np.nan, peak)
        area = np.where(bad, np.nan, area.astype(np.float64))
    x_mm, y_mm = sensel_to_mm(cop_row, cop_col, matrix)
    return MatMeasures(
        total=weight * total_factor(matrix, force_unit),
        weight=weight,
        peak=np.asarray(peak, dtype=np.float64),
        contact_area_cm2=np.asarray(area, dtype=np.float64),
        cop_row=cop_row,
        cop_col=cop_col,
        cop_x_mm=x_mm,
        cop_y_mm=y_mm,
        missing=missing,
        unit=total_unit(matrix, force_unit),
        peak_unit=matrix.unit,
    )


def saturated_sensels(frames: np.ndarray, matrix: Matrix) -> np.ndarray:
    """Per frame, how many sensels read at the converter's limit (``raw >= raw_max``): the force
    there is unknown. ``sensing.metrics.checks.saturation`` reports them."""
    raw = np.asarray(frames)
    return (raw.reshape(len(raw), -1) >= matrix.raw_max).sum(axis=1, dtype=np.int64)
