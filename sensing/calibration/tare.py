"""Tare: the zero each channel is measured from, taken on a stretch of unloaded, still readings.

A tare is the mean raw reading of each channel over a short window (``tare_offsets``). Before it
is used, ``check_tare`` asks two questions of that window, so a tare cannot silently zero a
loaded or moving block:

* **still?** The window's spread (SD) may be at most ``SPREAD_RATIO`` times the sensor's own
  noise: the robust sample-to-sample scatter (``sensing.calibration.capture.assess``), or the
  smallest step the readings take when they are too coarse to show any scatter.
* **unloaded?** Where the channel already has a known zero (an earlier tare, a calibration's
  zero, or a profile that gives force with its offset), the window's mean may read at most
  ``loaded_max_n`` newtons from it (default ``DEFAULT_LOADED_MAX_N``, about 5 kgf: more than a
  block's own weight, which a tare is meant to zero, and far less than a person's).

A tare that fails either is refused with one line saying which channel, what was measured and
the limit. A person may tare anyway; the tare then keeps ``forced`` and the problems it had.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError, TareRefused
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix, Profile
from firmware_bridge.words import FORCE_UNITS
from sensing.calibration.capture import MAD_TO_SD
from sensing.calibration.conversion import Conversion, with_zero, zero_segments
from sensing.calibration.mat import mat_calibration, weighted_sums

SPREAD_RATIO = 3.0
DEFAULT_LOADED_MAX_N = 50.0
ENV_LOADED_MAX = "SOTLOG_TARE_LOADED_MAX_N"
MIN_FRAMES = 3


@dataclass(frozen=True)
class TareProblem:
    """Why a tare window is not fit to zero on, for one channel."""

    channel: str
    problem: str  # "moving" or "loaded"
    text: str
    measured: float
    limit: float
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def loaded_max_n(value: float | None = None) -> float:
    """The loaded limit: ``value``, else ``$SOTLOG_TARE_LOADED_MAX_N``, else 50 N."""
    if value is not None:
        return float(value)
    text = os.environ.get(ENV_LOADED_MAX)
    if not text:
        return DEFAULT_LOADED_MAX_N
    try:
        return float(text)
    except ValueError:
        raise CalibrationError(f"${ENV_LOADED_MAX} must be a number, not {text!r}") from None


def channel_values(frames: FrameBlock, names: Sequence[str], matrix: Matrix | None,
                   conversion: dict[str, Any] | None) -> np.ndarray:
    """``(n, k)`` raw values a tare zeroes: load-cell columns, or a mat's weighted total."""
    values = np.asarray(frames.values, dtype=np.float64)
    if values.ndim == 3 and matrix is not None:
        values = weighted_sums(conversion, matrix, values)[1][:, None]
    elif values.ndim == 3:
        values = values.reshape(len(values), -1).sum(axis=1)[:, None]
    if values.ndim != 2 or values.shape[1] != len(names):
        raise CalibrationError(
            f"tare: {len(names)} channel names for frames of shape {frames.values.shape}")
    return values


def tare_offsets(frames: FrameBlock, channel_names: Sequence[str], matrix: Matrix | None = None,
                 conversion: dict[str, Any] | None = None) -> dict[str, Any]:
    """Tare data from frames taken with the blocks unloaded: each channel's raw mean and SD.

    ``frames`` holds ``(n, k)`` load-cell values (``channel_names`` has k names) or
    ``(n, rows, cols)`` mat frames (``channel_names`` is ``["total"]``): each frame's sum of the
    sensels above ``matrix``'s noise threshold, weighted by the gains of the mat calibration in
    ``conversion`` (as ``sensing.calibration.mat`` sums them), or the plain sum without
    ``matrix``. Returns ``{"offsets": {name: mean}, "sd": {name: sd}, "noise": {name: noise},
    "frames": n, "window_s": span, "unit": "raw"}``: a zero segment for the conversion dict and
    the ``tare`` event's data. Frames with a non-finite value are left out and counted in
    ``"skipped"``; a CalibrationError when no usable frame is left.
    """
    names = list(channel_names)
    values = channel_values(frames, names, matrix, conversion)
    good = np.all(np.isfinite(values), axis=1)
    if not good.any():
        raise CalibrationError("the tare window held no usable frames; nothing was zeroed")
    kept = values[good]
    t = frames.host_time[good]
    return {
        "offsets": dict(zip(names, kept.mean(axis=0).tolist(), strict=True)),
        "sd": dict(zip(names, kept.std(axis=0).tolist(), strict=True)),
        "noise": dict(zip(names, own_noise(kept).tolist(), strict=True)),
        "frames": int(good.sum()), "skipped": int((~good).sum()),
        "window_s": float(t.max() - t.min()), "unit": "raw",
    }


def own_noise(values: np.ndarray) -> np.ndarray:
    """Each column's own noise: the robust sample-to-sample scatter, at least its finest step.

    Readings too coarse to scatter (a quantised or thresholded signal) show no spread between
    neighbours at all; their finest non-zero step is then the smallest change they can show.
    """
    d = np.diff(values, axis=0)
    if not len(d):
        return np.zeros(values.shape[1])
    mad = np.median(np.abs(d - np.median(d, axis=0)), axis=0)
    steps = np.where(d != 0, np.abs(d), np.inf).min(axis=0)
    return np.maximum(MAD_TO_SD * mad / np.sqrt(2.0), np.where(np.isfinite(steps), steps, 0.0))


def _zero_source(profile: Profile, conversion: dict[str, Any], name: str) -> str | None:
    """What the channel's current zero is, when it has a known one in force."""
    segments = zero_segments(conversion)
    if segments and name in (segments[-1].get("offsets") or {}):
        return "the earlier tare"
    fits = ((conversion.get("calibration") or {}).get("channels") or {})
    if name in fits:
        return f"calibration {fits[name].get('id', '')}'s zero".replace(" 's", "'s")
    units = {c.name: c.unit for c in profile.channels}
    if units.get(name) in FORCE_UNITS:
        return "the profile's zero (its offset)"
    return None


def check_tare(tare: dict[str, Any], profile: Profile, conversion: dict[str, Any] | None,
               limit_n: float | None = None) -> list[TareProblem]:
    """What makes ``tare`` (from ``tare_offsets``) unfit to zero on; empty when it is fit.

    ``conversion`` is the one in force before this tare, read at its newest zero.
    """
    conversion = conversion or {}
    limit = loaded_max_n(limit_n)
    problems: list[TareProblem] = []
    names = list(tare["offsets"])
    if tare["frames"] < MIN_FRAMES:
        return [TareProblem(n, "moving", f"{n}: only {tare['frames']} frames arrived during the "
                            "tare, too few to tell whether the blocks were still",
                            float(tare["frames"]), float(MIN_FRAMES), "frames") for n in names]
    for name in names:
        sd, noise = float(tare["sd"][name]), float(tare["noise"][name])
        allowed = SPREAD_RATIO * noise
        if sd > allowed:
            times = f"{sd / noise:.0f} times" if noise > 0 else "with no noise of its own"
            problems.append(TareProblem(
                name, "moving", f"{name} was not still: spread {sd:.4g} {tare['unit']}, {times} "
                f"the sensor's own noise of {noise:.3g} (at most {SPREAD_RATIO:g} times)",
                sd, allowed, tare["unit"]))
    if profile.is_matrix and mat_calibration(conversion) is None:
        return problems  # a mat without a force calibration has no zero in newtons to judge by
    conv = Conversion.from_profile(profile, conversion)
    mean = np.array([[tare["offsets"][n] for n in conv.names]], dtype=np.float64)
    forces, units = conv.apply(mean, "N")
    for name, force, unit in zip(conv.names, forces[0], units, strict=True):
        source = _zero_source(profile, conversion, name) if not profile.is_matrix else (
            "the mat calibration's zero")
        if unit != "N" or source is None or not np.isfinite(force) or abs(force) <= limit:
            continue
        problems.append(TareProblem(
            name, "loaded", f"{name} looks loaded: {force:+.0f} N from {source} "
            f"(at most {limit:g} N)", float(force), limit, "N"))
    return problems


def refusal(problems: Sequence[TareProblem]) -> TareRefused:
    """The one-line error for a refused tare."""
    what = "; ".join(p.text for p in problems)
    return TareRefused(f"tare refused: {what}. Take the load off the blocks and keep them still, "
                       "then tare again; tare anyway only if they are unloaded and still")


def forced(tare: dict[str, Any], problems: Sequence[TareProblem]) -> dict[str, Any]:
    """``tare`` marked as taken anyway, with the problems it had."""
    return {**tare, "forced": True, "problems": [p.as_dict() for p in problems]}


def with_tare(conversion: dict[str, Any] | None, tare: dict[str, Any],
              from_s: float | None = None) -> dict[str, Any]:
    """A copy of ``conversion`` zeroed on ``tare`` (from ``tare_offsets``) from ``from_s`` on.

    ``from_s`` None: from the start, replacing every earlier zero (a tare before recording).
    """
    return with_zero(conversion, {**tare, "from_s": from_s})
