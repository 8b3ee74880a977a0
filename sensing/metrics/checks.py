"""Checks a practitioner can see: calibration age, zero drift from the tare, saturation, tare.

Each check reports what it measured per channel, with units, and says when a number is past its
limit (a ``Finding`` with ``warn=True``). ``sotlog record`` stores those as ``warning`` events and
``sotlog show`` prints them. They describe the measurement, never the procedure or its effect.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.errors import CalibrationError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile
from firmware_bridge.words import FORCE_UNITS
from sensing.calibration.conversion import zero_segments
from sensing.mat.measures import saturated_sensels
from sensing.metrics.onblocks import loaded_mask

if TYPE_CHECKING:
    from sensing.store.read import Samples, Session

ENV_MAX_AGE = "SOTLOG_CAL_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 30.0
ENV_DRIFT_MAX = "SOTLOG_DRIFT_MAX_N"
DEFAULT_DRIFT_MAX_N = 5.0  # about 0.5 kgf
UNLOADED_WINDOW_S = 1.0  # the stretch of unloaded readings compared with the zero
MARGIN_S = 0.5  # kept clear of the moments the load goes on and comes off
HX711_LIMITS = (-(1 << 23), (1 << 23) - 1)  # 24-bit converters (HX711, NAU7802) stop here


@dataclass
class Finding:
    """One thing a check found on one channel; ``warn`` when it is past its limit."""

    check: str
    channel: str
    text: str
    warn: bool
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _setting(value: float | None, env: str, default: float) -> float:
    if value is not None:
        return float(value)
    text = os.environ.get(env)
    if text:
        try:
            return float(text)
        except ValueError:
            raise CalibrationError(f"${env} must be a number, not {text!r}") from None
    return default


def max_age_days(value: float | None = None) -> float:
    """The calibration age limit: ``value``, else ``$SOTLOG_CAL_MAX_AGE_DAYS``, else 30 days."""
    return _setting(value, ENV_MAX_AGE, DEFAULT_MAX_AGE_DAYS)


def drift_max_n(value: float | None = None) -> float:
    """The zero-drift limit in newtons: ``value``, else ``$SOTLOG_DRIFT_MAX_N``, else 5 N."""
    return _setting(value, ENV_DRIFT_MAX, DEFAULT_DRIFT_MAX_N)


def _utc(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def calibration_age(conversion: dict[str, Any] | None, now: datetime | str | None = None,
                    limit_days: float | None = None) -> list[Finding]:
    """Age of each channel's calibration at ``now`` (default: the present moment)."""
    limit = max_age_days(limit_days)
    when = datetime.now(UTC) if now is None else _utc(now) if isinstance(now, str) else now
    channels = ((conversion or {}).get("calibration") or {}).get("channels") or {}
    out = []
    for name, spec in channels.items():
        created = spec.get("created_utc")
        if not created:
            continue
        days = (when - _utc(created)).total_seconds() / 86400.0
        warn = days > limit
        text = (f"calibration {spec.get('id')} of {name} is {days:.0f} days old"
                + (f", older than the {limit:g} days allowed: calibrate again "
                   "(`sotlog calibrate`)" if warn else ""))
        out.append(Finding("calibration_age", name, text, warn,
                           {"calibration_id": spec.get("id"), "age_days": days,
                            "limit_days": limit}))
    return out


def _cell_limits(profile: Profile) -> dict[str, tuple[float, float]]:
    return {c.name: HX711_LIMITS for c in profile.channels}


def _mat_limits(profile: Profile) -> dict[str, tuple[float, float]]:
    m = profile.matrix
    assert m is not None
    return {"total": (m.raw_min, m.raw_max)}


# Where a device's raw readings stop, by kind of device.
SATURATION_LIMITS: dict[bool, Callable[[Profile], dict[str, tuple[float, float]]]] = {
    False: _cell_limits,
    True: _mat_limits,
}


def saturation(frames: FrameBlock | Iterable[FrameBlock], profile: Profile) -> list[Finding]:
    """Frames with a raw value at the converter's limits, per channel (mats: any sensel).

    ``frames`` may be one block or successive blocks (a long session read window by window).
    """
    limits = SATURATION_LIMITS[profile.is_matrix](profile)
    blocks = [frames] if isinstance(frames, FrameBlock) else frames
    total = 0
    frames_at = dict.fromkeys(limits, 0)
    readings = dict.fromkeys(limits, 0)
    for block in blocks:
        values = np.asarray(block.values)
        if not len(values):
            continue
        total += len(values)
        if profile.matrix is not None:
            at = saturated_sensels(values, profile.matrix)
            frames_at["total"] += int((at > 0).sum())
            readings["total"] += int(at.sum())
            continue
        for j, (name, (lo, hi)) in enumerate(limits.items()):
            col = values[:, j:j + 1]
            hit = (col <= lo) | (col >= hi)
            frames_at[name] += int(hit.any(axis=1).sum())
            readings[name] += int(hit.sum())
    return _saturation_findings(profile, total, frames_at, readings)


def mat_saturation(saturated: np.ndarray, profile: Profile) -> list[Finding]:
    """``saturation`` of a mat session from its sensels at the limit per frame
    (``MatDerived.saturated``, counted when it closed)."""
    return _saturation_findings(profile, len(saturated), {"total": int((saturated > 0).sum())},
                                {"total": int(saturated.sum())})


def _saturation_findings(profile: Profile, total: int, frames_at: dict[str, int],
                         readings: dict[str, int]) -> list[Finding]:
    out = []
    what = "sensel readings" if profile.is_matrix else "readings"
    for name, (lo, hi) in SATURATION_LIMITS[profile.is_matrix](profile).items():
        warn = frames_at[name] > 0
        text = (f"{name}: {frames_at[name]} of {total} frames at the converter's limit "
                f"({readings[name]} {what} at {lo:g} or {hi:g}); force there is unknown"
                if warn else f"{name}: no reading at the converter's limits")
        out.append(Finding("saturation", name, text, warn,
                           {"frames": frames_at[name], "readings": readings[name],
                            "limits": [lo, hi]}))
    return out


def _has_zero(info: Any, name: str) -> bool:
    """Whether a channel's force is measured from a known zero (tare, calibration or profile)."""
    conv = info.conversion or {}
    tared = any(name in (s.get("offsets") or {}) for s in zero_segments(conv))
    if info.is_matrix or tared:
        return True
    if name in ((conv.get("calibration") or {}).get("channels") or {}):
        return True
    units = {c.name: c.unit for c in info.profile.channels}
    return units.get(name) in FORCE_UNITS


def _window(t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    keep = (t >= max(lo, hi - UNLOADED_WINDOW_S)) & (t <= hi)
    return keep


def zero_drift(session: Session, limit_n: float | None = None,
               samples: Samples | None = None) -> list[Finding]:
    """Unloaded readings just before the load goes on and after it comes off, against the zero.

    Each is the mean of the last ``UNLOADED_WINDOW_S`` s of unloaded readings, kept
    ``MARGIN_S`` s clear of the load. In newtons for force channels; a channel in counts with
    no tare or calibration has no zero, so only its start-to-end shift is reported.
    ``samples`` are the session's samples in N, when the caller has read them already.
    """
    limit = drift_max_n(limit_n)
    if samples is None:
        samples = session.samples(units="N")
    t, v = samples.time_s, samples.values
    out: list[Finding] = []
    if len(t) < 2:
        return out
    mask, _ = loaded_mask(v, samples.names, samples.units)
    if mask.any():
        first, last = t[np.argmax(mask)], t[len(mask) - 1 - np.argmax(mask[::-1])]
        start = _window(t, float(t[0]), float(first) - MARGIN_S)
        end = _window(t, float(last) + MARGIN_S, float(t[-1]))
        end &= t >= float(last) + MARGIN_S
    else:
        start = _window(t, float(t[0]), float(t[0]) + UNLOADED_WINDOW_S)
        end = _window(t, float(t[-1]) - UNLOADED_WINDOW_S, float(t[-1]))
    for j, name in enumerate(samples.names):
        unit = samples.units[j]
        s = float(np.nanmean(v[start, j])) if start.any() else None
        e = float(np.nanmean(v[end, j])) if end.any() else None
        force = unit == "N"
        zero = _has_zero(session.info, name)
        data = {"start": s, "end": e, "unit": unit, "limit_n": limit if force else None,
                "has_zero": zero, "window_s": UNLOADED_WINDOW_S}
        parts, warn = [], False
        for label, x in (("before loading", s), ("after unloading", e)):
            if x is None:
                parts.append(f"{label}: no unloaded readings")
            elif zero:
                over = force and abs(x) > limit
                warn = warn or over
                parts.append(f"{label} {x:+.2f} {unit} from zero" + (" (past the limit)"
                                                                      if over else ""))
        if s is not None and e is not None:
            shift = e - s
            data["shift"] = shift
            over = force and abs(shift) > limit
            warn = warn or over
            parts.append(f"shift {shift:+.2f} {unit}" + (" (past the limit)" if over else ""))
        text = f"zero of {name}: " + "; ".join(parts)
        if warn:
            text += f"; more than {limit:g} N: tare again before the next session"
        out.append(Finding("zero_drift", name, text, warn, data))
    return out


def session_checks(session: Session, *, limit_days: float | None = None,
                   limit_n: float | None = None, now: datetime | str | None = None,
                   samples: Samples | None = None) -> list[Finding]:
    """Every check over a stored session. Calibration age is judged at the session's start."""
    info = session.info
    return [
        *calibration_age(info.conversion, now or info.started_utc, limit_days),
        *zero_drift(session, limit_n, samples),
        *session_saturation(session),
    ]


def session_saturation(session: Session) -> list[Finding]:
    """``saturation`` of a stored session: a mat's from the sensels at the limit counted when it
    closed (no frame read again), load cells' from the frames."""
    info = session.info
    if info.is_matrix:
        return mat_saturation(session.mat_derived().saturated, info.profile)
    return saturation(session.frame_windows(), info.profile)
