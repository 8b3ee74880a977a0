"""Raw numbers to force, on read: tare, then the channel's calibration fit or profile scale/offset.

Each channel gets one callable ``raw -> value in the channel's unit``; force units are then
turned into the unit asked for (N, kgf or lbf). Channels whose unit is not a force (counts, raw,
kPa) keep their numbers and their own unit label. Raw data is never changed, so a session can be
re-tared or recalibrated later by changing its conversion dict alone.

The conversion dict stored with a session (``conversion_json``) looks like::

    {"tare": {"left": 8123.0, "right": 7990.5},
     "calibration": {"id": 3, "channels": {"left": {"fit": "linear", "coef": [0.0, 0.0123],
                                                   "unit": "N"}}}}

``coef`` are polynomial coefficients, lowest order first, applied to the tared raw value.
More fit kinds are added by registering a builder in ``FITS``.

The zero a channel is measured from: its session tare when it has one; else, for a calibrated
channel, the calibration's ``zero_raw`` (the raw reading its fit puts at zero load); else the
profile's own ``offset``. A tare is a new zero, so it replaces the profile offset rather than
adding to it: at the tare reading the channel reads 0. See docs/calibration.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError
from firmware_bridge.profiles import FORCE_UNITS, Profile

# Units a reader may ask force in, and newtons per one of them.
OUTPUT_UNITS: dict[str, float] = {"N": 1.0, "kgf": FORCE_UNITS["kgf"], "lbf": FORCE_UNITS["lbf"]}

ArrayFn = Callable[[np.ndarray], np.ndarray]


def _polynomial(spec: dict[str, Any]) -> ArrayFn:
    coef = np.asarray(spec.get("coef", ()), dtype=np.float64)
    if coef.ndim != 1 or not len(coef):
        raise CalibrationError("a polynomial fit needs a non-empty list 'coef'")
    return lambda x: np.polynomial.polynomial.polyval(x, coef)


# Fit kind -> builder of the callable it stands for; the calibration module may add more.
FITS: dict[str, Callable[[dict[str, Any]], ArrayFn]] = {
    "linear": _polynomial,
    "quadratic": _polynomial,
    "polynomial": _polynomial,
}


@dataclass(frozen=True)
class ChannelConversion:
    """How one channel's raw numbers become values in ``unit``."""

    name: str
    unit: str
    fn: ArrayFn

    @property
    def is_force(self) -> bool:
        return self.unit in FORCE_UNITS


def _linear(tare: float, scale: float, offset: float) -> ArrayFn:
    return lambda raw: (raw - tare) * scale + offset


def _profile_linear(tare: float | None, scale: float, offset: float) -> ArrayFn:
    """The profile's scale; its offset sets the zero unless a tare does."""
    if tare is None:
        return _linear(0.0, scale, offset)
    return _linear(tare, scale, 0.0)


def _fit(name: str, tare: float | None, spec: dict[str, Any]) -> ChannelConversion:
    if tare is None:
        tare = float(spec.get("zero_raw", 0.0))
    kind = spec.get("fit", "linear")
    try:
        builder = FITS[kind]
    except KeyError:
        known = ", ".join(sorted(FITS))
        raise CalibrationError(f"channel {name!r}: unknown fit {kind!r} (known: {known})") from None
    curve = builder(spec)
    return ChannelConversion(name, spec.get("unit", "N"), lambda raw: curve(raw - tare))


def _tare(tares: dict[str, Any], name: str) -> float | None:
    value = tares.get(name)
    return None if value is None else float(value)


def check_unit(units: str) -> float:
    """Newtons per one of ``units``; an unknown unit is a CalibrationError."""
    try:
        return OUTPUT_UNITS[units]
    except KeyError:
        raise CalibrationError(
            f"unknown force unit {units!r} (choose {', '.join(OUTPUT_UNITS)})"
        ) from None


class Conversion:
    """Per-channel raw -> unit callables, then force units -> the unit asked for."""

    def __init__(self, channels: list[ChannelConversion]) -> None:
        self.channels = channels

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @classmethod
    def from_profile(cls, profile: Profile, conversion: dict[str, Any] | None = None) -> Conversion:
        """Channels from the profile's scale/offset/unit, overridden by tare and calibration."""
        conversion = conversion or {}
        tares: dict[str, float] = conversion.get("tare", {}) or {}
        fits: dict[str, Any] = (conversion.get("calibration") or {}).get("channels", {}) or {}
        if profile.matrix is not None:
            m = profile.matrix
            cells = m.rows * m.cols
            tare = _tare(tares, "total")
            if "total" in fits:
                return cls([_fit("total", tare, fits["total"])])
            # The per-frame total: sum of (raw * scale + offset) over every sensel.
            fn = _profile_linear(tare, m.scale, m.offset * cells)
            return cls([ChannelConversion("total", m.unit, fn)])
        out = []
        for ch in profile.channels:
            tare = _tare(tares, ch.name)
            if ch.name in fits:
                out.append(_fit(ch.name, tare, fits[ch.name]))
            else:
                out.append(ChannelConversion(ch.name, ch.unit,
                                             _profile_linear(tare, ch.scale, ch.offset)))
        return cls(out)

    def units(self, units: str = "N") -> list[str]:
        """The unit label of each output column."""
        check_unit(units)
        return [units if c.is_force else c.unit for c in self.channels]

    def apply(self, raw: np.ndarray, units: str = "N") -> tuple[np.ndarray, list[str]]:
        """``(values (n, k) float64, unit per column)`` from raw ``(n, k)`` values."""
        per_newton = check_unit(units)
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim != 2 or raw.shape[1] != len(self.channels):
            raise CalibrationError(
                f"conversion expects (n, {len(self.channels)}) values, got {raw.shape}"
            )
        out = np.empty_like(raw)
        for j, ch in enumerate(self.channels):
            col = ch.fn(raw[:, j])
            if ch.is_force:
                col = col * (FORCE_UNITS[ch.unit] / per_newton)
            out[:, j] = col
        return out, self.units(units)
