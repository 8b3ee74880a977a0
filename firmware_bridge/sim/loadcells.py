"""Simulated HX711 load cells, one per block: the true model and the bytes a sketch would send."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.sim.options import LoadcellConfig, parse_sim_url
from firmware_bridge.sim.scenario import LoadScript, make_script
from firmware_bridge.sim.wire import WIRES

HX711_MIN, HX711_MAX = -(1 << 23), (1 << 23) - 1  # the chip saturates at its signed 24-bit ends
# Channel names by position: cells alternate sides, so blocks=1 is one cell under the left block.
CHANNEL_NAMES = ("left", "right", "left2", "right2")


def _per_block(given: tuple[float, ...] | None, fallback: np.ndarray) -> np.ndarray:
    if given is None:
        return fallback
    return np.broadcast_to(np.asarray(given, dtype=np.float64), fallback.shape).copy()


@dataclass(frozen=True, eq=False)
class LoadcellModel:
    """The true values behind the simulated counts: ``offset + gain*kg + drift + noise``."""

    names: tuple[str, ...]
    gain: np.ndarray  # counts per kg, per cell
    offset: np.ndarray  # raw counts at zero load, per cell
    drift: np.ndarray  # counts per minute, per cell
    noise: float  # counts RMS
    script: LoadScript

    @classmethod
    def from_config(cls, config: LoadcellConfig) -> LoadcellModel:
        n = config.blocks
        rng = np.random.default_rng([config.seed, 0x6A17])
        gain = rng.uniform(1.8e4, 2.2e4, n)  # always drawn, so giving one option keeps the other
        offset = rng.uniform(8e3, 5e4, n)
        return cls(
            names=CHANNEL_NAMES[:n],
            gain=_per_block(config.gain, gain),
            offset=_per_block(config.offset, offset),
            drift=_per_block(config.drift, np.zeros(n)),
            noise=config.noise,
            script=make_script(config.load, config.seed, config.session, config.hold),
        )

    def kg(self, t: np.ndarray) -> np.ndarray:
        """True load in kg on each cell at simulated times ``t``, shape ``(len(t), cells)``."""
        return self.script.kg(np.atleast_1d(np.asarray(t, dtype=np.float64)), len(self.names))

    def counts(self, t: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """Raw counts at ``t`` (int64, saturated like the chip); ``noise`` in RMS units, or none."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        value = self.offset + self.gain * self.kg(t) + self.drift * (t[:, None] / 60.0)
        if noise is not None:
            value = value + self.noise * noise
        return np.clip(np.rint(value), HX711_MIN, HX711_MAX).astype(np.int64)


def _config(config: LoadcellConfig | str | None) -> LoadcellConfig:
    if config is None:
        return LoadcellConfig()
    parsed = parse_sim_url(config)[1] if isinstance(config, str) else config
    if not isinstance(parsed, LoadcellConfig):
        raise TypeError("a sim://loadcells URL or LoadcellConfig is needed")
    return parsed


def loadcell_model(config: LoadcellConfig | str | None = None) -> LoadcellModel:
    """The model behind a ``sim://loadcells`` URL (or config): true gain, offset, load."""
    return LoadcellModel.from_config(_config(config))


def loadcell_kg(t: np.ndarray | float, config: LoadcellConfig | str | None = None) -> np.ndarray:
    """True load in kg per cell at simulated seconds ``t``, shape ``(len(t), blocks)``."""
    return loadcell_model(config).kg(np.asarray(t))


def loadcell_counts(t: np.ndarray | float,
                    config: LoadcellConfig | str | None = None) -> np.ndarray:
    """Noise-free raw counts per cell at simulated seconds ``t``."""
    return loadcell_model(config).counts(np.asarray(t))


class LoadcellDevice:
    """The sketch on the simulated board: sample ``k`` is taken at simulated second ``k / rate``."""

    def __init__(self, config: LoadcellConfig) -> None:
        self.config = config
        self.rate = config.rate
        self.model = LoadcellModel.from_config(config)
        rng = np.random.default_rng([config.seed, 0xB007])
        self.boot_us = int(rng.integers(900_000, 2_500_000))  # device clock at the first sample
        self._noise = np.random.default_rng([config.seed, 0x9015E])
        self.wire = WIRES[config.protocol]()
        self.bytes_per_sample = self.wire.estimate(np.zeros(len(self.model.names), np.int32))

    def header(self) -> bytes:
        """What the sketch prints once after reset, before the first sample."""
        return self.wire.header(self.model.names)

    def write(self, data: bytes) -> None:
        """The sketch reads nothing from the host."""

    def samples(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Device time in microseconds and counts of samples ``k0..k1-1``; draws their noise."""
        k = np.arange(k0, k1, dtype=np.int64)
        t = k / self.rate
        noise = self._noise.standard_normal((k.size, len(self.model.names)))
        return self.boot_us + np.rint(t * 1e6).astype(np.int64), self.model.counts(t, noise)

    def render(self, k0: int, k1: int) -> list[bytes]:
        """The bytes of each of samples ``k0..k1-1`` as they go on the wire."""
        device_us, counts = self.samples(k0, k1)
        return self.wire.render(k0, device_us, counts.astype(np.int32))
