"""Detected events: when the load came onto the blocks, became steady, and came off.

One rule, in one place, run the same way live (fed each block of frames as it arrives) and over
a stored session (fed window by window): the same frames give the same events however they are
split into blocks. It reads the total force (``detection_total``: load cells summed, or a mat's
block channels summed) and finds

* ``placed``: the total rises past the placed level and stays above it for ``hold_s``. The
  event is the rise's onset: the last frame before the crossing still within ``noise_k`` noise
  SDs of the lowest total of the ``lookback_s`` before it.
* ``settled``: after ``placed``, the total stays within ``± max(settle_share × its mean,
  noise_k × noise SD)`` for ``settle_s``; the event is the start of that steady span, whose mean
  becomes the loaded level.
* ``removed``: the total falls below ``fall_share`` of the loaded level (never below the noise
  level) and stays below it for ``hold_s``; the event is the first frame after the crossing back
  within ``noise_k`` noise SDs of the lowest total of that hold, i.e. back near zero.

The placed level is ``body_share`` of the body weight's force when the session has a body
weight, else ``floor_n`` newtons; never below ``noise_k`` noise SDs. The noise SD is measured on
the session's first ``noise_s`` seconds (from first differences, so a drift or a slow
oscillation does not count as noise). Placed and removed use different levels and each must
hold (hysteresis), so noise and breathing at a level do not make events; after a removal, the
total must pass the removed level as well as the placed level to be placed again. A session
loaded from its first frame has no ``placed``. Nothing is reported for a run that has not held
when the frames end. The rule describes when load was present; it judges nothing. docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.words import FORCE_UNITS
from sensing.calibration.conversion import Conversion
from sensing.mat.blocks import session_block_channels
from sensing.metrics.onblocks import TOTAL, total_load
from sensing.vocabulary import DETECTED_EVENT_KINDS

UNIT = "N"  # detection reads force in newtons where the device measures force


@dataclass(frozen=True)
class DetectRule:
    """The numbers of the detection rule; every detected event keeps them in its data."""

    body_share: float = 0.05  # placed level: this share of the body weight's force, or ...
    floor_n: float = 10.0  # ... this many newtons when the session has no body weight
    noise_k: float = 5.0  # every level and band is at least this many noise SDs
    noise_s: float = 1.0  # the noise SD is measured on the session's first seconds
    hold_s: float = 0.5  # placed / removed: the total stays past its level this long
    fall_share: float = 0.10  # removed level: this share of the loaded level
    settle_s: float = 2.0  # settled: the total stays within its band this long
    settle_share: float = 0.10  # the band's half-width, as a share of the span's mean
    lookback_s: float = 10.0  # how far before a crossing the rise's onset is looked for
    version: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Detected:
    """One detected event: its kind, host time, a line of text and the rule's numbers."""

    kind: str
    host_time: float
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def detection_total(names: list[str], values: np.ndarray, units: list[str]) -> np.ndarray:
    """The total detection reads: a mat's block channels summed (its whole-mat ``total`` when
    it has no block), else the channels in the first channel's unit summed."""
    keep = [j for j, n in enumerate(names) if n != TOTAL]
    if TOTAL in names and keep:
        return total_load(values[:, keep], [names[j] for j in keep], [units[j] for j in keep])
    return total_load(values, names, units)


def _noise_sd(x: np.ndarray) -> float:
    """The noise SD from first differences (robust median absolute deviation, else their SD)."""
    d = np.diff(x[np.isfinite(x)])
    if d.size < 2:
        return 0.0
    mad = float(np.median(np.abs(d - np.median(d))))
    sd = 1.4826 * mad if mad > 0 else float(np.std(d))
    return sd / math.sqrt(2.0)


_WARMUP, _OFF, _RISING, _ON, _SETTLED, _FALLING = range(6)


class Detector:
    """The rule fed block by block: ``feed(host_time, total)`` returns the events it found.

    Frames are kept only as far back as the rule looks (``lookback_s``), so memory stays flat
    however long the session.
    """

    def __init__(self, rule: DetectRule | None = None, unit: str = UNIT,
                 body_weight_kg: float | None = None, t0_host: float = 0.0) -> None:
        self.rule = rule or DetectRule()
        self.unit = unit
        self.t0_host = float(t0_host)
        per_n = 1.0 / FORCE_UNITS[unit] if unit in FORCE_UNITS else None
        if per_n is None:
            self.base_level = 0.0  # not a force: only the noise sets the placed level
        elif body_weight_kg:
            self.base_level = self.rule.body_share * body_weight_kg * FORCE_UNITS["kgf"] * per_n
        else:
            self.base_level = self.rule.floor_n * per_n
        self.body_weight_kg = body_weight_kg
        self._t = np.empty(0)
        self._x = np.empty(0)
        self._base = 0  # absolute index of the first frame kept
        self._phase = _WARMUP
        self._back = _ON  # the phase a broken fall returns to
        self._run = -1  # absolute index where the current run began
        self._since = -1  # absolute index of the placed onset (settled spans start after it)
        self._fed = 0  # frames of the kept arrays the rule has been through
        self.noise_sd = 0.0
        self.rise_level = self.base_level
        self.again_level = 0.0  # after a removal, placed again only past the removed level too
        self.loaded_level = 0.0
        self.events: list[Detected] = []

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, host_time: np.ndarray, total: np.ndarray) -> list[Detected]:
        """Frames at ``host_time`` with these totals (in ``unit``); the events found in them."""
        if not len(host_time):
            return []
        self._t = np.concatenate([self._t, np.asarray(host_time, np.float64)])
        self._x = np.concatenate([self._x, np.asarray(total, np.float64)])
        if self._phase == _WARMUP and self._t[-1] - self._t[0] < self.rule.noise_s:
            return []
        return self._run_frames(self._new_start())

    def finish(self) -> list[Detected]:
        """The frames have ended: a session shorter than the noise window is judged now."""
        if self._phase == _WARMUP and self._t.size:
            return self._run_frames(self._new_start())
        return []

    def _new_start(self) -> int:
        if self._phase != _WARMUP:
            return self._fed
        self._warm_up()
        return 0

    def _warm_up(self) -> None:
        r = self.rule
        first = self._t < self._t[0] + r.noise_s
        self.noise_sd = _noise_sd(self._x[first])
        self.rise_level = max(self.base_level, r.noise_k * self.noise_sd)
        start = float(np.nanmedian(self._x[first])) if np.isfinite(self._x[first]).any() else 0.0
        if start > self.rise_level:  # loaded from the first frame: no placed
            self._phase, self._since, self.loaded_level = _ON, 0, start
        else:
            self._phase = _OFF

    def _run_frames(self, i: int) -> list[Detected]:
        found: list[Detected] = []
        n = self._t.size
        while i < n:
            i = self._step(i, n, found)
        self._fed = n
        self._trim()
        self.events.extend(found)
        return found

    def _trim(self) -> None:
        """Keep the frames the rule may still look back at, so a split into other blocks finds
        the same events: a run still holding, and ``lookback_s`` before it or ``settle_s``."""
        r = self.rule
        keep_from = self._t[-1] - max(r.lookback_s + r.hold_s, r.settle_s)
        cut = int(np.searchsorted(self._t, keep_from, side="left"))
        if self._run >= 0:
            cut = min(cut, self._run - self._base)
        if cut > 0:
            self._t, self._x = self._t[cut:], self._x[cut:]
            self._base += cut
            self._fed -= cut

    # -- the phases ---------------------------------------------------------------------------

    def _step(self, i: int, n: int, found: list[Detected]) -> int:
        x = self._x
        if self._phase == _OFF:
            above = np.flatnonzero(x[i:] > self._placed_level())
            if not above.size:
                return n
            self._run, self._phase = self._base + i + int(above[0]), _RISING
            return i + int(above[0])
        if self._phase == _RISING:
            return self._hold(i, n, x > self._placed_level(), self._placed, _OFF, found)
        if self._phase == _FALLING:
            return self._hold(i, n, x < self._fall_level(), self._removed, self._back, found)
        if self._phase == _ON:
            return self._settling(i, n, found)
        below = np.flatnonzero(x[i:] < self._fall_level())
        if not below.size:
            return n
        return self._start_fall(i + int(below[0]), _SETTLED)

    def _placed_level(self) -> float:
        return max(self.rise_level, self.again_level)

    def _fall_level(self) -> float:
        return max(self.rule.fall_share * self.loaded_level, self.rule.noise_k * self.noise_sd)

    def _start_fall(self, j: int, back: int) -> int:
        self._run, self._phase, self._back = self._base + j, _FALLING, back
        return j

    def _hold(self, i: int, n: int, cond: np.ndarray, done: Any, broken: int,
              found: list[Detected]) -> int:
        """A run that began at ``self._run``: confirmed once it has held ``hold_s``."""
        run = self._run - self._base
        stops = np.flatnonzero(~cond[i:n])
        k = i + int(stops[0]) if stops.size else n
        held = np.flatnonzero(self._t[i:k] - self._t[run] >= self.rule.hold_s)
        if held.size:
            m = i + int(held[0])
            found.append(done(run, m))
            self._run = -1
            return m + 1
        if k < n:
            self._run, self._phase = -1, broken
        return k

    def _settling(self, i: int, n: int, found: list[Detected]) -> int:
        """Placed and not yet steady: the first span of ``settle_s`` within its band, unless the
        total falls first (one frame at a time: this lasts seconds after each placement)."""
        r, t, x = self.rule, self._t, self._x
        for f in range(i, n):
            if np.isfinite(x[f]):
                self.loaded_level = max(self.loaded_level, float(x[f]))
            if x[f] < self._fall_level():
                return self._start_fall(f, _ON)
            a = int(np.searchsorted(t, t[f] - r.settle_s, side="left"))
            if self._base + a <= self._since or t[f] - t[a] < r.settle_s * 0.999:
                continue
            span = x[a:f + 1]
            if not np.isfinite(span).all():
                continue
            mean = float(span.mean())
            band = max(r.settle_share * abs(mean), r.noise_k * self.noise_sd)
            if float(span.max() - span.min()) <= 2 * band:
                self.loaded_level, self._phase, self._since = mean, _SETTLED, -1
                found.append(self._event("settled", a, f, (
                    f"load within ±{band:.4g} {self.unit} of {mean:.4g} {self.unit} for "
                    f"{r.settle_s:g} s"), band=band, loaded_level=mean))
                return f + 1
        return n

    def _placed(self, run: int, m: int) -> Detected:
        r, t, x = self.rule, self._t, self._x
        a = int(np.searchsorted(t, t[run] - r.lookback_s, side="left"))
        onset = run
        if a < run:
            before = x[a:run]
            valley = float(np.nanmin(before)) if np.isfinite(before).any() else 0.0
            rest = np.flatnonzero(before <= valley + r.noise_k * self.noise_sd)
            onset = a + int(rest[-1]) if rest.size else run
        self._phase, self._since = _ON, self._base + onset
        self.loaded_level = float(np.nanmax(x[run:m + 1]))
        level = self._placed_level()
        return self._event("placed", onset, m, (
            f"load above {level:.4g} {self.unit} for {r.hold_s:g} s"), level=level)

    def _removed(self, run: int, m: int) -> Detected:
        r, x = self.rule, self._x
        level = self._fall_level()
        span = x[run:m + 1]
        valley = float(np.nanmin(span)) if np.isfinite(span).any() else 0.0
        near = np.flatnonzero(span <= valley + r.noise_k * self.noise_sd)
        at = run + int(near[0]) if near.size else run
        self._phase, self._since, self.loaded_level = _OFF, -1, 0.0
        self.again_level = level
        return self._event("removed", at, m, f"load below {level:.4g} {self.unit} for "
                           f"{r.hold_s:g} s", level=level)

    def _event(self, kind: str, at: int, found_at: int, text: str, **extra: float) -> Detected:
        t = self._t
        data = {"detected_s": round(float(t[at]) - self.t0_host, 6),
                "found_s": round(float(t[found_at]) - self.t0_host, 6),
                "unit": self.unit, "noise_sd": self.noise_sd,
                "body_weight_kg": self.body_weight_kg,
                **{k: float(v) for k, v in extra.items()}, "rule": self.rule.as_dict()}
        return Detected(kind, float(t[at]), text, data)


# -- a stored session ---------------------------------------------------------------------------


class StoredSession(Protocol):
    """What detection reads of a stored session (``sensing.store.read.Session`` has it)."""

    @property
    def info(self) -> Any: ...

    def frame_windows(self, t0: float | None = None,
                      t1: float | None = None) -> Iterator[FrameBlock]: ...

    def mat_regions(self) -> list[Any]: ...


def session_totals(session: StoredSession) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(unit, host_time, total)`` of a stored session, a read window at a time."""
    info = session.info
    regions = session.mat_regions() if info.is_matrix else None
    cells = None if info.is_matrix else Conversion.from_profile(info.profile, info.conversion,
                                                                info.t0_host)
    for block in session.frame_windows():
        if cells is None:
            found = session_block_channels(info, block, UNIT, stored=regions)
            assert found is not None
            names, values, units = found
        else:
            values, units = cells.apply(block.values, UNIT, block.host_time)
            names = cells.names
        yield (units[0] if units else UNIT), block.host_time, detection_total(names, values, units)


def detect_session(session: StoredSession, rule: DetectRule | None = None) -> list[Detected]:
    """The rule run over a stored or imported session, window by window (flat memory)."""
    info = session.info
    detector: Detector | None = None
    for unit, host_time, total in session_totals(session):
        if detector is None:
            detector = Detector(rule, unit, info.meta.body_weight_kg, info.t0_host)
        detector.feed(host_time, total)
    if detector is None:
        return []
    detector.finish()
    return detector.events


def rule_dict() -> dict[str, Any]:
    """The default rule's numbers and the kinds it finds, for the pages and the docs."""
    return {**DetectRule().as_dict(), "kinds": list(DETECTED_EVENT_KINDS)}
