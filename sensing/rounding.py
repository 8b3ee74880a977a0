"""How many decimals a number is shown with, by its unit: the one rounding rule of every page.

A number carries the digits its unit can mean for what sotlog measures, and no more: a force to
0.1 N (a load cell under a block reads no finer), a session time to 0.01 s (a sample at 80 Hz),
a share to 0.1 %, a centre-of-pressure position to 1 mm; a calibration's gain per count to 4
significant digits. The pages get this table from ``GET /api/vocabulary`` (``decimals``,
``decimals_other``, ``significant``) and format every number with a unit through it (``fmtIn``
in common.js); the browser tests check the pages against it.
"""

from __future__ import annotations

from typing import Any

DECIMALS: dict[str, int] = {
    # force and what is weighed
    "N": 1, "kgf": 2, "lbf": 1, "kg": 1, "g": 0, "lb": 1,
    # a force-time integral, in its force unit times seconds
    "N·s": 0, "kgf·s": 1, "lbf·s": 0, "raw·s": 0,
    # a sensor's own numbers, whole
    "raw": 0, "counts": 0,
    # time and rates
    "s": 2, "ms": 0, "frames/s": 1, "Hz": 2, "cycles/min": 1,
    # shares and angles
    "%": 1, "°": 0,
    # a mat's geometry and pressure
    "mm": 0, "mm/s": 1, "mm²": 0, "cm²": 0, "Pa": 0, "kPa": 1, "mmHg": 0,
}
OTHER = 1  # a unit not listed (a profile's own): one decimal
MOST = max(DECIMALS.values())  # no shown number carries more decimals than this
# A unit ending so is a fitted coefficient per raw count (a calibration's gain, N/count): its
# size spans decades from one sensor to the next, so it keeps significant digits, not decimals.
SIGNIFICANT: dict[str, int] = {"/count": 4}


def significant(unit: str | None) -> int | None:
    """The significant digits a number in ``unit`` is shown with; None: it keeps decimals."""
    return next((n for end, n in SIGNIFICANT.items() if (unit or "").endswith(end)), None)


def decimals(unit: str | None) -> int:
    """The decimals a number in ``unit`` is shown with."""
    return DECIMALS.get(unit or "", OTHER)


def rounded(value: float, unit: str | None) -> float:
    """``value`` rounded as it is shown in ``unit``."""
    digits = significant(unit)
    if digits is not None:
        return float(f"{value:.{digits}g}")
    return round(value, decimals(unit))


def shown(value: float, unit: str | None) -> str:
    """``value`` as text, rounded as it is shown in ``unit`` (for the messages Python writes,
    as ``fmtIn`` is for the pages; without the unit)."""
    digits = significant(unit)
    if digits is not None:
        return f"{value:.{digits}g}"
    return f"{value:.{decimals(unit)}f}"


def as_dict() -> dict[str, Any]:
    """The rule for the pages (``GET /api/vocabulary``)."""
    return {"decimals": dict(DECIMALS), "decimals_other": OTHER, "significant": dict(SIGNIFICANT)}
