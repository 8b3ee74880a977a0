"""Raw numbers to force, on read: tare, then the channel's calibration fit or profile scale/offset.

Each channel gets one callable ``raw -> value in the channel's unit``; force units are then
turned into the unit asked for (N, kgf or lbf). Channels whose unit is not a force (counts, raw,
kPa) keep their numbers and their own unit label. Raw data is never changed, so a session can be
re-tared or recalibrated later by changing its conversion dict alone.

The conversion dict stored with a session (``conversion_json``) looks like::

    {"tare": [{"from_s": null, "offsets": {"left": 8123.0, "right": 7990.5}, ...},
              {"from_s": 42.5, "offsets": {"left": 8140.2, "right": 7985.0}, ...}],
     "calibration": {"id": 3, "channels": {"left": {"fit": "linear", "coef": [0.0, 0.0123],
                                                   "unit": "N"}}}}

``tare`` is a time-ordered list of zero segments: each applies from ``from_s`` (session seconds;
null: from the start) until the next one, so a tare taken during a recording changes the zero
from its moment on and the samples before it keep the zero they had. A store written before
segments existed holds ``"tare": {name: offset}`` (with ``tare_info``): one segment from the
start. ``coef`` are polynomial coefficients, lowest order first, applied to the tared raw value.
More fit kinds are added by registering a builder in ``FITS``.

The zero a channel is measured from: the tare of its segment when it has one; else, for a
calibrated channel, the calibration's ``zero_raw`` (the raw reading its fit puts at zero load);
else the profile's own ``offset``. A tare is a new zero, so it replaces the profile offset rather
than adding to it: at the tare reading the channel reads 0. See docs/calibration.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError
from firmware_bridge.profiles import Profile
from firmware_bridge.words import FORCE_UNITS
from sensing.rounding import shown
from sensing.vocabulary import OUTPUT_UNITS

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


# Keys of a zero segment besides ``from_s`` and ``offsets``: what the tare measured, kept with it.
TARE_KEY = "tare"


def zero_segments(conversion: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The conversion's zero segments in time order (``from_s`` None first); maybe none."""
    tare = (conversion or {}).get(TARE_KEY)
    if not tare:
        return []
    if isinstance(tare, dict):  # written before segments: one zero from the start
        info = (conversion or {}).get("tare_info") or {}
        return [{**info, "from_s": None, "offsets": dict(tare)}]
    segments = [dict(s) for s in tare]
    return sorted(segments, key=lambda s: -np.inf if s.get("from_s") is None else s["from_s"])


def with_zero(conversion: dict[str, Any] | None, segment: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``conversion`` with one more zero segment.

    A segment whose ``from_s`` is None applies from the start and replaces every other (a tare
    taken before the recording began); one with a time applies from then on.
    """
    out = {k: v for k, v in (conversion or {}).items() if k != "tare_info"}
    segment = dict(segment)
    segment.setdefault("from_s", None)
    if "offsets" not in segment:
        raise CalibrationError("a zero segment needs its offsets")
    if segment["from_s"] is None:
        out[TARE_KEY] = [segment]
        return out
    kept = [s for s in zero_segments(conversion)
            if s.get("from_s") is None or s["from_s"] < segment["from_s"]]
    out[TARE_KEY] = [*kept, segment]
    return out


def rebased(conversion: dict[str, Any] | None, t0: float) -> dict[str, Any]:
    """``conversion`` with segment times moved so that ``t0`` is time 0.

    Segments that began at or before ``t0`` collapse into the last of them, from the start.
    """
    out = dict(conversion or {})
    segments = zero_segments(conversion)
    if not segments:
        out.pop(TARE_KEY, None)
        return out
    before = [s for s in segments if s.get("from_s") is None or s["from_s"] <= t0]
    after = [{**s, "from_s": s["from_s"] - t0} for s in segments if s not in before]
    out[TARE_KEY] = ([{**before[-1], "from_s": None}] if before else []) + after
    out.pop("tare_info", None)
    return out


@dataclass(frozen=True)
class Epoch:
    """Where one zero holds: from ``start`` (host seconds; -inf: from the start), with ``spec``:
    the conversion dict as it reads there (its ``tare`` a plain ``{name: offset}``)."""

    start: float
    spec: dict[str, Any]


def epochs(conversion: dict[str, Any] | None, t0_host: float = 0.0) -> list[Epoch]:
    """The stretches of host time over which one zero holds, in time order (at least one)."""
    base = {k: v for k, v in (conversion or {}).items() if k not in (TARE_KEY, "tare_info")}
    segments = zero_segments(conversion)
    out = [] if segments and segments[0].get("from_s") is None else [Epoch(-np.inf, base)]
    for s in segments:
        start = -np.inf if s.get("from_s") is None else t0_host + float(s["from_s"])
        out.append(Epoch(start, {**base, TARE_KEY: dict(s["offsets"])}))
    return out


def split_rows(found: list[Epoch], host_time: np.ndarray | None) -> list[tuple[Epoch, slice]]:
    """Which rows each epoch covers; rows must be in time order. Without times: the last epoch."""
    if host_time is None or len(found) == 1:
        n = None if host_time is None else len(host_time)
        return [(found[-1], slice(0, n))]
    starts = np.array([e.start for e in found])
    cuts = np.searchsorted(host_time, starts[1:], side="left")
    edges = [0, *cuts.tolist(), len(host_time)]
    return [(e, slice(a, b)) for e, a, b in zip(found, edges[:-1], edges[1:], strict=True)
            if b > a]


class Conversion:
    """Per-channel raw -> unit callables for each zero segment, then force -> the unit asked for."""

    def __init__(self, names: list[str], unit_labels: list[str],
                 per_epoch: list[tuple[Epoch, list[ChannelConversion]]]) -> None:
        self.names = names
        self._units = unit_labels
        self.per_epoch = per_epoch

    @property
    def channels(self) -> list[ChannelConversion]:
        """The channel callables of the newest zero."""
        return self.per_epoch[-1][1]

    @classmethod
    def from_profile(cls, profile: Profile, conversion: dict[str, Any] | None = None,
                     t0_host: float = 0.0) -> Conversion:
        """Channels from the profile's scale/offset/unit, overridden by tare and calibration.

        Segment times (session seconds) are placed on the host clock with ``t0_host``.
        """
        per_epoch = [(e, _channels(profile, e.spec)) for e in epochs(conversion, t0_host)]
        first = per_epoch[0][1]
        return cls([c.name for c in first], [c.unit for c in first], per_epoch)

    def units(self, units: str = "N") -> list[str]:
        """The unit label of each output column."""
        check_unit(units)
        return [units if u in FORCE_UNITS else u for u in self._units]

    def apply(self, raw: np.ndarray, units: str = "N",
              host_time: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """``(values (n, k) float64, unit per column)`` from raw ``(n, k)`` values.

        ``host_time`` (one per row, in time order) chooses each row's zero segment; without it
        every row takes the newest zero.
        """
        per_newton = check_unit(units)
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim != 2 or raw.shape[1] != len(self.names):
            raise CalibrationError(
                f"conversion expects (n, {len(self.names)}) values, got {raw.shape}"
            )
        out = np.empty_like(raw)
        by_start = {id(e): chans for e, chans in self.per_epoch}
        for epoch, rows in split_rows([e for e, _ in self.per_epoch], host_time):
            for j, ch in enumerate(by_start[id(epoch)]):
                col = ch.fn(raw[rows, j])
                if ch.is_force:
                    col = col * (FORCE_UNITS[ch.unit] / per_newton)
                out[rows, j] = col
        return out, self.units(units)


def _channels(profile: Profile, conversion: dict[str, Any]) -> list[ChannelConversion]:
    """One epoch's channel callables: ``conversion["tare"]`` is a plain ``{name: offset}``."""
    tares: dict[str, float] = conversion.get(TARE_KEY, {}) or {}
    fits: dict[str, Any] = (conversion.get("calibration") or {}).get("channels", {}) or {}
    if profile.matrix is not None:
        m = profile.matrix
        cells = m.rows * m.cols
        tare = _tare(tares, "total")
        if "total" in fits:
            return [_fit("total", tare, fits["total"])]
        # The per-frame total: sum of (raw * scale + offset) over every sensel.
        fn = _profile_linear(tare, m.scale, m.offset * cells)
        return [ChannelConversion("total", m.unit, fn)]
    out = []
    for ch in profile.channels:
        tare = _tare(tares, ch.name)
        if ch.name in fits:
            out.append(_fit(ch.name, tare, fits[ch.name]))
        else:
            out.append(ChannelConversion(ch.name, ch.unit,
                                         _profile_linear(tare, ch.scale, ch.offset)))
    return out


def describe_zeros(conversion: dict[str, Any] | None, names: list[str]) -> list[dict[str, Any]]:
    """Which zero each channel is measured from, and when: one entry per stretch of session.

    Each entry has ``from_s`` and ``until_s`` (session seconds; None: the start, the end), the
    ``zeros`` per channel (``{"from": "tare"|"calibration"|"profile", "raw": offset}``), whether
    the tare was ``forced``, and a ``text`` a person reads. Shown by ``sotlog show``, the session
    page and every export's sidecar.
    """
    conversion = conversion or {}
    fits = ((conversion.get("calibration") or {}).get("channels") or {})
    segments = zero_segments(conversion)
    if not segments or segments[0].get("from_s") is not None:  # until the first tare
        segments = [{"from_s": None, "offsets": {}}, *segments]
    out = []
    for k, seg in enumerate(segments):
        until = segments[k + 1]["from_s"] if k + 1 < len(segments) else None
        per: dict[str, dict[str, Any]] = {}
        for name in names:
            if name in (seg.get("offsets") or {}):
                per[name] = {"from": "tare", "raw": float(seg["offsets"][name])}
            elif name in fits:
                per[name] = {"from": "calibration", "raw": fits[name].get("zero_raw"),
                             "calibration_id": fits[name].get("id")}
            else:
                per[name] = {"from": "profile", "raw": None}
        when = ("from the start" if seg.get("from_s") is None
                else f"from {seg['from_s']:.2f} s") + (
            f" until {until:.2f} s" if until is not None else " to the end")
        parts = [f"{n}: {z['from']}"
                 + (f" {shown(z['raw'], 'raw')} raw" if z["raw"] is not None else "")
                 for n, z in per.items()]
        forced = bool(seg.get("forced"))
        text = f"{when}: " + ", ".join(parts) + (" (tare taken anyway)" if forced else "")
        out.append({"from_s": seg.get("from_s"), "until_s": until, "zeros": per,
                    "forced": forced, "text": text})
    return out
