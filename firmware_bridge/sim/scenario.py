"""What lies on the simulated blocks: a body session, or a scripted load for calibration.

A load script maps simulated time (seconds) to the true load in kg on each of ``cells`` cells;
cells alternate left, right, left, right. Scripts repeat every ``length`` seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SIDES = ("left", "right")


class LoadScript(Protocol):
    """The true load over time."""

    @property
    def length(self) -> float:
        """Seconds after which the script repeats."""
        ...

    def kg(self, t: np.ndarray, cells: int) -> np.ndarray:
        """True load in kg, shape ``(len(t), cells)``."""
        ...


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class BodySession:
    """One blocking cycle: unloaded, a body settles on, breathes, shifts, is lifted off, unloaded.

    Times are seconds within the cycle: the body starts settling at ``t_on`` and is fully on at
    ``t_on + settle``; it starts coming off at ``t_off`` and is off at ``t_off + remove``.
    """

    length: float
    t_on: float
    settle: float
    t_off: float
    remove: float
    total_kg: float
    left_frac: float  # share of the load on the left block, mean over the cycle
    shift: float  # amplitude of the slow left/right shift, as a share of the load
    breath_hz: float
    breath_amp: float  # breathing oscillation as a share of the load
    breath_phase: float
    split: float  # share of a side taken by its first cell when two cells share a side

    @classmethod
    def from_seed(cls, seed: int, length: float) -> BodySession:
        """A realistic cycle of ``length`` seconds (at least 20), randomised by ``seed``."""
        rng = np.random.default_rng([seed, 0x50D1])
        pre, settle = rng.uniform(3.0, 6.0), rng.uniform(2.0, 5.0)
        remove, post = rng.uniform(1.0, 2.5), rng.uniform(3.0, 6.0)
        # short cycles get shorter phases, so the body is on the blocks for most of the cycle
        scale = min(1.0, 0.6 * length / (pre + settle + remove + post))
        pre, settle, remove, post = (x * scale for x in (pre, settle, remove, post))
        side = 1.0 if rng.random() < 0.5 else -1.0
        return cls(
            length=float(length),
            t_on=float(pre),
            settle=float(settle),
            t_off=float(length - post - remove),
            remove=float(remove),
            total_kg=float(rng.uniform(30.0, 45.0)),
            left_frac=float(0.5 + side * rng.uniform(0.04, 0.1)),
            shift=float(rng.uniform(0.02, 0.04)),
            breath_hz=float(rng.uniform(0.2, 0.3)),
            breath_amp=float(rng.uniform(0.02, 0.05)),
            breath_phase=float(rng.uniform(0.0, 2 * math.pi)),
            split=float(rng.uniform(0.4, 0.6)),
        )

    def envelope(self, t: np.ndarray) -> np.ndarray:
        """0 when off the blocks, 1 when fully on, smooth in between."""
        tc = np.mod(t, self.length)
        on = _smoothstep((tc - self.t_on) / self.settle)
        off = _smoothstep((tc - self.t_off) / self.remove)
        return on * (1.0 - off)

    def side_kg(self, t: np.ndarray) -> np.ndarray:
        """True load on the left and right block, shape ``(len(t), 2)``."""
        t = np.asarray(t, dtype=np.float64)
        tc = np.mod(t, self.length)
        loaded = max(self.t_off - self.t_on, 1e-9)
        frac = self.left_frac + self.shift * np.sin(2 * math.pi * (tc - self.t_on) / loaded)
        phase = 2 * math.pi * self.breath_hz * t + self.breath_phase
        breath = 1.0 + self.breath_amp * np.sin(phase)
        total = self.total_kg * self.envelope(t) * breath
        return np.stack([total * frac, total * (1.0 - frac)], axis=-1)

    def kg(self, t: np.ndarray, cells: int) -> np.ndarray:
        sides = self.side_kg(t)
        out = np.empty((sides.shape[0], cells))
        for side in (0, 1):
            idx = list(range(side, cells, 2))
            if len(idx) == 1:
                out[:, idx[0]] = sides[:, side]
            elif len(idx) == 2:
                out[:, idx[0]] = sides[:, side] * self.split
                out[:, idx[1]] = sides[:, side] * (1.0 - self.split)
        return out


@dataclass(frozen=True)
class Steps:
    """A calibration script: each level in kg held ``hold`` seconds on every cell, then repeat."""

    levels: tuple[float, ...]
    hold: float

    @property
    def length(self) -> float:
        return self.hold * len(self.levels)

    def kg(self, t: np.ndarray, cells: int) -> np.ndarray:
        step = np.floor_divide(np.asarray(t, dtype=np.float64), self.hold).astype(np.int64)
        level = np.asarray(self.levels)[np.mod(step, len(self.levels))]
        return np.repeat(level[:, None], cells, axis=1)


SCRIPTS: dict[str, Callable[[tuple[float, ...], int, float, float], LoadScript]] = {
    "session": lambda levels, seed, session, hold: BodySession.from_seed(seed, session),
    "steps": lambda levels, seed, session, hold: Steps(levels, hold),
}


def make_script(load: tuple[str, tuple[float, ...]], seed: int, session: float,
                hold: float) -> LoadScript:
    """The script a ``load=`` option asks for: ``(kind, levels)`` as parsed from the URL."""
    kind, levels = load
    script: LoadScript = SCRIPTS[kind](levels, seed, session, hold)
    return script
