"""Calibration and tare: fits from known loads to force, tare offsets, and the conversion dict.

A calibration turns raw counts into newtons for one channel. It is fitted from points, each a
known load placed on the block and the steady raw reading under it (see
``sensing.calibration.capture`` for how a steady window is found). The fit is kept relative to
its own zero: ``zero_raw`` is the raw reading the fit puts at zero load and ``coef`` (lowest
order first) turn ``raw - zero`` into newtons. A session tare replaces that zero, so a
calibration made last week still reads 0 on
today's unloaded blocks. Samples are always stored raw; a session names the calibration and tare
it uses in its conversion dict (``sensing.calibration.conversion``), so it can be re-expressed
later.
See docs/calibration.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError
from sensing.calibration.gains import encode_gains
from sensing.vocabulary import LOAD_UNITS

KINDS = ("loadcell", "mat_total", "mat_equilibration")


def newtons_per(unit: str) -> float:
    """Newtons per one ``unit`` of known load; an unknown unit is a CalibrationError."""
    try:
        return LOAD_UNITS[unit]
    except KeyError:
        raise CalibrationError(
            f"unknown load unit {unit!r} (choose {', '.join(LOAD_UNITS)})") from None


@dataclass
class CalPoint:
    """One known load and the steady raw reading under it."""

    load: float  # in the calibration's ``unit``, as entered
    load_n: float
    raw_mean: float
    raw_sd: float
    n: int
    window_s: float


@dataclass
class Fit:
    """A fitted curve from ``raw - zero_raw`` to newtons, with how well it meets the points."""

    fit: str
    coef: list[float]
    zero_raw: float
    residuals_n: list[float]  # fitted minus known, per point
    rms_residual_n: float
    max_residual_pct_fs: float  # largest residual of this fit as % of full scale
    nonlinearity_pct_fs: float  # largest deviation from the best straight line, % of full scale
    full_scale_n: float  # span of the known loads

    def newtons(self, raw: np.ndarray | float) -> np.ndarray:
        """Newtons at ``raw`` counts (using this fit's own zero)."""
        x = np.asarray(raw, dtype=np.float64) - self.zero_raw
        return np.asarray(np.polynomial.polynomial.polyval(x, self.coef))


def _degree_linear(n: int) -> int:
    return 1


def _degree_quadratic(n: int) -> int:
    return 2


# Fit kind -> its polynomial degree (the conversion side knows them in
# sensing.calibration.conversion.FITS).
FIT_DEGREES: dict[str, Callable[[int], int]] = {
    "linear": _degree_linear,
    "quadratic": _degree_quadratic,
}


def _zero_of(poly: np.polynomial.Polynomial, near: float) -> float:
    """The raw value where ``poly`` is zero, the real root nearest ``near``."""
    roots = poly.roots()
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots.real))].real
    if real.size == 0:
        raise CalibrationError("the fitted curve never reaches zero force: no zero to refer to")
    return float(real[np.argmin(np.abs(real - near))])


def fit_points(points: Sequence[CalPoint], kind: str = "linear") -> Fit:
    """Least-squares fit of newtons against raw means; residuals and non-linearity in %FS."""
    try:
        degree = FIT_DEGREES[kind](len(points))
    except KeyError:
        raise CalibrationError(
            f"unknown fit {kind!r} (choose {', '.join(FIT_DEGREES)})") from None
    if len(points) < degree + 1:
        raise CalibrationError(
            f"a {kind} fit needs at least {degree + 1} points with different loads, "
            f"not {len(points)}")
    x = np.array([p.raw_mean for p in points], dtype=np.float64)
    y = np.array([p.load_n for p in points], dtype=np.float64)
    if len(np.unique(y)) < degree + 1:
        raise CalibrationError(f"a {kind} fit needs at least {degree + 1} different loads")
    if not np.all(np.isfinite(x)):
        raise CalibrationError("a point has no reading (no frames arrived in its window)")
    span_x = float(x.max() - x.min())
    if span_x <= 0 or span_x <= 1e-9 * max(1.0, float(np.abs(x).max())):
        raise CalibrationError("the reading did not change with the load: is the cell connected?")
    poly = np.polynomial.Polynomial.fit(x, y, degree).convert()
    zero = _zero_of(poly, float(x[np.argmin(np.abs(y))]))
    shifted = poly(np.polynomial.Polynomial([zero, 1.0]))
    coef = np.zeros(degree + 1)
    coef[: len(shifted.coef)] = shifted.coef
    residuals = np.polynomial.polynomial.polyval(x - zero, coef) - y
    full_scale = float(y.max() - y.min())
    line = np.polynomial.Polynomial.fit(x, y, 1).convert()
    straight = line(x) - y
    return Fit(
        fit=kind, coef=[float(c) for c in coef], zero_raw=zero,
        residuals_n=[float(r) for r in residuals],
        rms_residual_n=float(np.sqrt(np.mean(residuals**2))),
        max_residual_pct_fs=float(100.0 * np.abs(residuals).max() / full_scale),
        nonlinearity_pct_fs=float(100.0 * np.abs(straight).max() / full_scale),
        full_scale_n=full_scale,
    )


@dataclass
class Calibration:
    """One channel's calibration record, as stored in the ``calibrations`` table.

    ``kind`` is ``loadcell`` (counts of one cell), ``mat_total`` (a mat's total, the
    gain-weighted sum of its sensels) or ``mat_equilibration`` (per-sensel ``gains`` from an even
    load; no force fit). ``gains`` is ``(rows, cols)`` float32 for mats, else None.
    """

    channel: str
    kind: str
    unit: str
    points: list[CalPoint]
    fit: Fit | None
    profile_name: str = ""
    port: str = ""
    device: str = ""
    by: str = ""
    created_utc: str = ""
    id: int | None = None
    batch: int | None = None  # id of the first record made by the same run
    settle: dict[str, Any] = field(default_factory=dict)  # the settle rule used
    gains: np.ndarray | None = None
    dead_sensels: list[list[int]] = field(default_factory=list)  # [row, col] of each
    equilibration_id: int | None = None  # mat_total: the gains its sums were weighted by
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CalibrationError(f"calibration kind must be one of {', '.join(KINDS)}")

    def record(self) -> dict[str, Any]:
        """Everything but ``gains``, as plain JSON-ready data."""
        d = asdict(self)
        d.pop("gains")
        if self.gains is not None:
            d["gains_shape"] = list(self.gains.shape)
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any], gains: np.ndarray | None = None) -> Calibration:
        d = dict(d)
        d.pop("gains_shape", None)
        d["points"] = [CalPoint(**p) for p in d.get("points", [])]
        d["fit"] = Fit(**d["fit"]) if d.get("fit") else None
        return cls(**d, gains=gains)

    def conversion_spec(self) -> dict[str, Any]:
        """What a session's conversion dict keeps of this calibration for its channel."""
        if self.fit is None:
            raise CalibrationError(
                f"calibration {self.id} ({self.kind}) has no force fit to convert with")
        f = self.fit
        return {
            "id": self.id, "fit": f.fit, "coef": f.coef, "unit": "N", "zero_raw": f.zero_raw,
            "kind": self.kind, "created_utc": self.created_utc, "by": self.by,
            "points": len(self.points), "full_scale_n": f.full_scale_n,
            "residuals_n": f.residuals_n, "rms_residual_n": f.rms_residual_n,
            "nonlinearity_pct_fs": f.nonlinearity_pct_fs,
            **({"equilibration_id": self.equilibration_id}
               if self.equilibration_id is not None else {}),
        }


def with_calibrations(conversion: dict[str, Any] | None, calibrations: Sequence[Calibration],
                      keep_others: bool = False) -> dict[str, Any]:
    """A copy of ``conversion`` using ``calibrations`` (one per channel); tare and rest kept.

    ``keep_others`` keeps the calibration of every channel not named in ``calibrations``.
    A mat's total calibration carries its per-sensel gains along (``"gains"``, encoded by
    ``sensing.calibration.gains.encode_gains``), so a session needs nothing outside its own row.
    """
    out = dict(conversion or {})
    old = (out.pop("calibration", None) or {}).get("channels") or {}
    if not calibrations:
        return out
    named = {c.channel for c in calibrations}
    kept = {k: v for k, v in old.items() if keep_others and k not in named}
    channels: dict[str, Any] = {}
    for cal in calibrations:
        if cal.channel in channels:
            raise CalibrationError(f"two calibrations given for channel {cal.channel!r}")
        spec = cal.conversion_spec()
        if cal.kind == "mat_total" and cal.gains is not None:
            spec["gains"] = encode_gains(cal.gains)
        channels[cal.channel] = spec
    channels.update(kept)
    ids = [c.id for c in calibrations] + [v.get("id") for v in kept.values()]
    batches = {c.batch for c in calibrations}
    batch = batches.pop() if len(batches) == 1 and not kept else None
    out["calibration"] = {"id": batch if batch is not None else ids[0], "ids": ids,
                          "channels": channels}
    return out


def calibration_ids(conversion: dict[str, Any] | None) -> list[int]:
    """The ids of the calibrations a conversion dict uses (empty when none)."""
    cal = (conversion or {}).get("calibration") or {}
    ids = cal.get("ids")
    if ids is None:
        ids = [s.get("id") for s in (cal.get("channels") or {}).values()]
    return [int(i) for i in ids if i is not None]
