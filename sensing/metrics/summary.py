"""Per-channel and per-block figures of a session: counts, mean, extremes, time on the blocks.

Figures describe what was measured. They carry units and never judge the procedure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from firmware_bridge.words import FORCE_UNITS
from sensing.metrics.onblocks import TOTAL, loaded_mask, time_on_blocks


class SamplesLike(Protocol):
    time_s: np.ndarray
    names: list[str]
    values: np.ndarray
    units: list[str]


@dataclass
class ChannelSummary:
    """Figures for one channel over the whole session, in ``unit``."""

    name: str
    unit: str
    count: int
    mean: float
    sd: float
    min: float
    max: float
    loaded_mean: float  # mean while on the blocks
    share_pct: float | None  # this channel's share of the summed load while on the blocks
    body_weight_pct: float | None  # loaded mean as % of the body weight entered


@dataclass
class SessionSummary:
    """What ``sotlog show`` and the session page print about the samples."""

    duration_s: float
    frames: int
    measured_rate_hz: float | None
    time_on_blocks_s: float
    loaded_threshold: float | None
    channels: list[ChannelSummary]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite_stats(x: np.ndarray) -> tuple[float, float, float, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"),) * 4
    return float(x.mean()), float(x.std()), float(x.min()), float(x.max())


def measured_rate(time_s: np.ndarray) -> float | None:
    """Frames per second over the session, from first to last frame."""
    if time_s.size < 2 or time_s[-1] <= time_s[0]:
        return None
    return float((time_s.size - 1) / (time_s[-1] - time_s[0]))


def summarise(samples: SamplesLike, body_weight_kg: float | None = None) -> SessionSummary:
    """Summarise ``samples`` (force per channel over time)."""
    t, v = samples.time_s, samples.values
    mask, threshold = loaded_mask(v, samples.names, samples.units)
    loaded_means = [float(np.nanmean(v[mask, i])) if mask.any() else float("nan")
                    for i in range(v.shape[1])]
    blocks = [m for m, n in zip(loaded_means, samples.names, strict=True) if n != TOTAL]
    summed = float(np.nansum(blocks)) if mask.any() else float("nan")
    channels = []
    for i, name in enumerate(samples.names):
        unit = samples.units[i]
        mean, sd, lo, hi = _finite_stats(v[:, i])
        share = (100.0 * loaded_means[i] / summed
                 if name != TOTAL and summed and np.isfinite(summed) else None)
        bw = _body_weight_pct(loaded_means[i], unit, body_weight_kg)
        channels.append(ChannelSummary(
            name=name, unit=unit, count=int(np.isfinite(v[:, i]).sum()), mean=mean, sd=sd,
            min=lo, max=hi, loaded_mean=loaded_means[i], share_pct=share, body_weight_pct=bw,
        ))
    duration = float(t[-1] - t[0]) if t.size > 1 else 0.0
    return SessionSummary(
        duration_s=duration, frames=int(t.size), measured_rate_hz=measured_rate(t),
        time_on_blocks_s=time_on_blocks(t, mask), loaded_threshold=threshold, channels=channels,
    )


def _body_weight_pct(value: float, unit: str, body_weight_kg: float | None) -> float | None:
    if body_weight_kg is None or unit not in FORCE_UNITS or not np.isfinite(value):
        return None
    return 100.0 * value * FORCE_UNITS[unit] / (body_weight_kg * FORCE_UNITS["kgf"])
