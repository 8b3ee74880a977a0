"""The calibration procedures: walk a person (or a scripted rig) through known loads on a device.

Each procedure reads frames from a ``FrameTap`` on a running bridge, asks for each load through a
``Guide`` (the terminal, or a scripted run that waits for each load to arrive on its own),
records a settled window per point and fits it. Load cells: one record per channel. Mats: a
per-sensel equilibration under an even load, or a known-weight calibration of the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from firmware_bridge.errors import CalibrationError
from firmware_bridge.profiles import Profile
from sensing.calibration.capture import FrameTap, Reduce, SettleRule, Window, wait_steady
from sensing.calibration.fit import Calibration, CalPoint, fit_points, newtons_per
from sensing.rounding import shown

MOVED_NOISES = 10.0  # a scripted load has arrived once the mean moved this many noise SDs
DEAD_FRACTION = 0.1  # a sensel reading under this share of the median under an even load is dead


class Guide(Protocol):
    """How a procedure talks to the person: ``ask`` waits for them, ``say`` just tells."""

    scripted: bool  # loads arrive on their own (simulator script, automated rig): never ask

    def ask(self, text: str) -> None: ...

    def say(self, text: str) -> None: ...


@dataclass
class RunSpec:
    """What to calibrate and how; shared by every procedure."""

    profile: Profile
    port: str
    device: str
    weights: list[float]
    unit: str
    fit: str
    by: str
    rule: SettleRule
    timeout: float
    channels: list[str]

    def record(self, channel: str, kind: str, points: list[CalPoint],
               **extra: object) -> Calibration:
        fit = fit_points(points, self.fit) if kind != "mat_equilibration" else None
        return Calibration(channel=channel, kind=kind, unit=self.unit, points=points, fit=fit,
                           profile_name=self.profile.name, port=self.port, device=self.device,
                           by=self.by, settle=self.rule.as_dict(), **extra)  # type: ignore[arg-type]


def _raw_unit(profile: Profile, channel: str) -> str:
    units = {c.name: c.unit for c in profile.channels}
    return "counts" if units.get(channel, "counts") == "counts" else "raw"


def settled_text(window: Window, j: int, unit: str) -> str:
    """``settled: 412345 ± 23 counts over 1.0 s (80 frames)``."""
    return (f"settled: {window.mean[j]:.0f} ± {window.sd[j]:.0f} {unit} over "
            f"{window.span_s + window.span_s / max(window.n - 1, 1):.1f} s ({window.n} frames)")


def _where(profile: Profile, channel: str) -> str:
    block = {c.name: c.block for c in profile.channels}.get(channel)
    return f"the {block} block (channel {channel})" if block else f"channel {channel}"


def _point(window: Window, j: int, load: float, unit: str) -> CalPoint:
    return CalPoint(load=float(load), load_n=float(load) * newtons_per(unit),
                    raw_mean=float(window.mean[j]), raw_sd=float(window.sd[j]), n=window.n,
                    window_s=window.span_s)


def _capture(tap: FrameTap, reduce: Reduce, spec: RunSpec, guide: Guide,
             previous: Window | None) -> Window:
    moved = None
    if guide.scripted and previous is not None:
        moved = MOVED_NOISES * np.maximum(np.maximum(previous.noise, previous.sd),
                                          spec.rule.sd_floor)
    return wait_steady(tap, reduce, spec.rule, timeout=spec.timeout,
                       differs_from=None if previous is None or not guide.scripted
                       else previous.mean, min_change=moved,
                       on_wait=lambda w: guide.say(_waiting_text(w)))


def _waiting_text(w: Window | None) -> str:
    if w is None:
        return "  waiting for readings ..."
    j = int(np.argmax(w.sd / np.maximum(w.noise, 1e-12)))
    return f"  waiting for a steady reading (sd {w.sd[j]:.0f}, noise {w.noise[j]:.0f}) ..."


def _load_text(load: float, unit: str, where: str) -> str:
    if load == 0:
        return f"take every weight off {where}"
    return f"place {load:g} {unit} on {where}"


def _columns(index: list[int]) -> Reduce:
    return lambda v: np.asarray(v)[:, index]


def calibrate_loadcells(tap: FrameTap, spec: RunSpec, guide: Guide) -> list[Calibration]:
    """One record per channel in ``spec.channels``.

    Asked: each channel in turn, each weight in turn. Scripted: each weight on every channel at
    once, each next point taken once the reading has moved to a new steady level.
    """
    names = spec.profile.channel_names
    for ch in spec.channels:
        if ch not in names:
            raise CalibrationError(f"profile {spec.profile.name!r} has no channel {ch!r} "
                                   f"(channels: {', '.join(names)})")
    index = [names.index(ch) for ch in spec.channels]
    points: dict[str, list[CalPoint]] = {ch: [] for ch in spec.channels}
    if guide.scripted:
        previous: Window | None = None
        every = ", ".join(spec.channels)
        for w in spec.weights:
            guide.say(f"waiting for {w:g} {spec.unit} on every block (channels {every})")
            window = _capture(tap, _columns(index), spec, guide, previous)
            for j, ch in enumerate(spec.channels):
                points[ch].append(_point(window, j, w, spec.unit))
                unit = _raw_unit(spec.profile, ch)
                guide.say(f"  {ch}: {settled_text(window, j, unit)}")
            previous = window
    else:
        for ch, col in zip(spec.channels, index, strict=True):
            for w in spec.weights:
                guide.ask(f"{_load_text(w, spec.unit, _where(spec.profile, ch))}, "
                          "then press Enter")
                tap.drain()
                window = _capture(tap, _columns([col]), spec, guide, None)
                points[ch].append(_point(window, 0, w, spec.unit))
                guide.say(f"  {settled_text(window, 0, _raw_unit(spec.profile, ch))}")
    return [spec.record(ch, "loadcell", points[ch]) for ch in spec.channels]


def _mat_rule(spec: RunSpec) -> SettleRule:
    """A mat's settle rule: an SD under one sensel's smallest reading counts as steady, so a
    rare reading poking above the dead band on an unloaded mat does not hold the point up."""
    m = spec.profile.matrix
    assert m is not None
    return replace(spec.rule, sd_floor=max(spec.rule.sd_floor, float(m.noise_threshold) + 1.0))


def _mat_reduce(spec: RunSpec, gains: np.ndarray | None) -> Reduce:
    m = spec.profile.matrix
    assert m is not None
    threshold = m.noise_threshold

    def reduce(v: np.ndarray) -> np.ndarray:
        raw = np.asarray(v, dtype=np.float64)
        loaded = np.where(raw > threshold, raw, 0.0)
        if gains is not None:
            loaded = loaded * gains
        return loaded.reshape(len(raw), -1).sum(axis=1)[:, None]

    return reduce


def equilibrate_mat(tap: FrameTap, spec: RunSpec, guide: Guide) -> Calibration:
    """Per-sensel gains from one settled window under an even load over the whole mat.

    ``gain = mean of the live sensels / the sensel's mean``, so every sensel reads the same under
    the same pressure. A sensel reading under ``DEAD_FRACTION`` of the median (or at or below the
    noise threshold) is dead, and one at ``raw_max`` is saturated: neither can be scaled, both
    keep gain 1, are counted and listed.
    """
    m = spec.profile.matrix
    if m is None:
        raise CalibrationError(f"profile {spec.profile.name!r} is not a mat")
    if not guide.scripted:
        guide.ask("spread an even load over the whole mat (a board with weights, a bladder), "
                  "then press Enter")
        tap.drain()
    else:
        guide.say("waiting for an even load over the whole mat")
    window = wait_steady(tap, _mat_reduce(spec, None), _mat_rule(spec), timeout=spec.timeout,
                         on_wait=lambda w: guide.say(_waiting_text(w)))
    guide.say(f"  {settled_text(window, 0, 'raw (sum)')}")
    mean = np.asarray(window.frames, dtype=np.float64).mean(axis=0)
    positive = mean[mean > m.noise_threshold]
    median = float(np.median(positive)) if positive.size else 0.0
    dead = (mean <= m.noise_threshold) | (mean < DEAD_FRACTION * median)
    saturated = mean >= m.raw_max
    live = ~dead & ~saturated
    if not live.any():
        raise CalibrationError("no sensel read the even load: is the mat loaded and connected?")
    target = float(mean[live].mean())
    gains = np.ones(mean.shape, dtype=np.float64)
    gains[live] = target / mean[live]
    n_dead, n_sat = int(dead.sum()), int(saturated.sum())
    guide.say(f"  {int(live.sum())} sensels scaled to their mean {shown(target, 'raw')} raw; gains "
              f"{gains[live].min():.3f} to {gains[live].max():.3f}; {n_dead} dead and "
              f"{n_sat} saturated sensels left unscaled")
    point = CalPoint(load=0.0, load_n=0.0, raw_mean=float(window.mean[0]),
                     raw_sd=float(window.sd[0]), n=window.n, window_s=window.span_s)
    return spec.record(
        "total", "mat_equilibration", [point], gains=gains.astype(np.float32),
        dead_sensels=[[int(r), int(c)] for r, c in np.argwhere(dead)],
        note=(f"even load: {int(live.sum())} live sensels, mean {shown(target, 'raw')} raw; "
              f"{n_dead} dead, {n_sat} saturated (gain 1)"))


def calibrate_mat_total(tap: FrameTap, spec: RunSpec, guide: Guide,
                        equilibration: Calibration | None) -> Calibration:
    """A fit of known loads against the mat's gain-weighted total (the ``total`` channel)."""
    if spec.profile.matrix is None:
        raise CalibrationError(f"profile {spec.profile.name!r} is not a mat")
    gains = equilibration.gains if equilibration is not None else None
    if gains is not None and tuple(gains.shape) != spec.profile.frame_shape:
        raise CalibrationError(f"equilibration {equilibration.id if equilibration else ''} is "
                               f"for a {gains.shape} mat, not {spec.profile.frame_shape}")
    reduce = _mat_reduce(spec, gains)
    spec = replace(spec, rule=_mat_rule(spec))
    points: list[CalPoint] = []
    previous: Window | None = None
    for w in spec.weights:
        if guide.scripted:
            guide.say(f"waiting for {w:g} {spec.unit} on the mat")
        else:
            guide.ask(f"{_load_text(w, spec.unit, 'the mat')}, then press Enter")
            tap.drain()
        window = _capture(tap, reduce, spec, guide, previous)
        points.append(_point(window, 0, w, spec.unit))
        guide.say(f"  {settled_text(window, 0, 'raw (sum)')}")
        previous = window
    ones = np.ones(spec.profile.frame_shape, np.float32)
    return spec.record("total", "mat_total", points,
                       gains=gains if gains is not None else ones,
                       equilibration_id=equilibration.id if equilibration is not None else None)


def check_weights(weights: Sequence[float], fit: str) -> list[float]:
    """At least two different known loads, none negative; a quadratic fit needs three."""
    out = [float(w) for w in weights]
    need = 3 if fit == "quadratic" else 2
    if len(set(out)) < need:
        raise CalibrationError(f"a {fit} calibration needs at least {need} different known "
                               f"loads (more are better), not {', '.join(f'{w:g}' for w in out)}")
    if any(w < 0 or not np.isfinite(w) for w in out):
        raise CalibrationError("known loads must be zero or positive numbers")
    return out
