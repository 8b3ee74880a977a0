"""A simulated pressure mat under both blocks: two pad footprints loaded by the body session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.sim.options import MatConfig, parse_sim_url
from firmware_bridge.sim.scenario import LoadScript, make_script
from firmware_bridge.sim.wire import WIRES

RAW_MAX = 4095  # a 12-bit ADC: readings saturate here
PEAK_RAW_PER_KG = 110.0  # raw value at a pad's centre per kg on that block
DEAD_BAND_RMS = 2.0  # like an FSR threshold: readings under this many noise RMS read 0


def _pad(rows: int, cols: int, centre: tuple[float, float],
         axes: tuple[float, float]) -> np.ndarray:
    """A block's footprint: highest at its centre, falling to zero at its elliptical edge."""
    y = (np.arange(rows) + 0.5)[:, None]
    x = (np.arange(cols) + 0.5)[None, :]
    r2 = ((y - centre[0]) / axes[0]) ** 2 + ((x - centre[1]) / axes[1]) ** 2
    pad = np.clip(1.0 - r2, 0.0, None) ** 0.6
    peak = pad.max()
    return (pad / peak if peak > 0 else pad).astype(np.float32)


@dataclass(frozen=True, eq=False)
class MatModel:
    """The true pressure image: ``PEAK_RAW_PER_KG * (left_kg * left_pad + right_kg * right_pad)``.

    Both pads have the same sum (a block's force is the sum of its sensels) and a peak near 1.
    Row 0 is the head edge and low columns are the patient's left, as in a profile's defaults;
    both pads lie in the lower half of the mat, one each side of the midline.
    """

    rows: int
    cols: int
    pads: np.ndarray  # (2, rows, cols) float32: left pad, right pad
    noise: float
    script: LoadScript

    @classmethod
    def from_config(cls, config: MatConfig) -> MatModel:
        rows, cols = config.rows, config.cols
        rng = np.random.default_rng([config.seed, 0x3A7])
        jitter = rng.uniform(-1.0, 1.0, (2, 4))
        axes = (max(rows * 0.14, 1.2), max(cols * 0.11, 1.2))
        nominal = _pad(rows, cols, (rows / 2, cols / 2), axes).sum()
        pads = []
        for side, sign in ((0, -1.0), (1, 1.0)):
            j = jitter[side]
            centre = (rows * (0.70 + 0.02 * j[0]), cols * (0.5 + sign * (0.22 + 0.02 * j[1])))
            size = (axes[0] * (1 + 0.08 * j[2]), axes[1] * (1 + 0.08 * j[3]))
            pad = _pad(rows, cols, centre, size)
            pads.append(pad * np.float32(nominal / pad.sum()))  # equal kg, equal sum on either pad
        return cls(rows, cols, np.stack(pads), config.noise,
                   make_script(("session", ()), config.seed, config.session, 1.0))

    def side_kg(self, t: np.ndarray) -> np.ndarray:
        """True load in kg on the left and right block at ``t``, shape ``(len(t), 2)``."""
        return self.script.kg(np.atleast_1d(np.asarray(t, dtype=np.float64)), 2)

    def pressure(self, t: np.ndarray) -> np.ndarray:
        """Noise-free raw sensel values at ``t`` as float32, shape ``(len(t), rows, cols)``."""
        kg = self.side_kg(t).astype(np.float32) * np.float32(PEAK_RAW_PER_KG)
        return np.tensordot(kg, self.pads, axes=(1, 0))

    def frames(self, t: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """Raw uint16 frames at ``t``; with ``noise`` (RMS units) the dead band applies too."""
        value = self.pressure(t)
        if noise is not None:
            value = value + np.float32(self.noise) * noise
            value[value < np.float32(DEAD_BAND_RMS * self.noise)] = 0.0
        return np.clip(np.rint(value), 0, RAW_MAX).astype(np.uint16)


def _config(config: MatConfig | str | None) -> MatConfig:
    if config is None:
        return MatConfig()
    parsed = parse_sim_url(config)[1] if isinstance(config, str) else config
    if not isinstance(parsed, MatConfig):
        raise TypeError("a sim://mat URL or MatConfig is needed")
    return parsed


def mat_model(config: MatConfig | str | None = None) -> MatModel:
    """The model behind a ``sim://mat`` URL (or config): pads and the true load."""
    return MatModel.from_config(_config(config))


def mat_frame(t: float, config: MatConfig | str | None = None) -> np.ndarray:
    """The noise-free uint16 frame at simulated second ``t``, shape ``(rows, cols)``."""
    return mat_model(config).frames(np.asarray([t], dtype=np.float64))[0]


class MatDevice:
    """The mat's controller: frame ``k`` is scanned at ``k / rate`` simulated seconds."""

    def __init__(self, config: MatConfig) -> None:
        self.config = config
        self.rate = config.rate
        self.model = MatModel.from_config(config)
        rng = np.random.default_rng([config.seed, 0xB007])
        self.boot_us = int(rng.integers(900_000, 2_500_000))
        self._noise = np.random.default_rng([config.seed, 0x9015E])
        self.wire = WIRES[config.protocol]()
        self.bytes_per_sample = self.wire.estimate(np.zeros((config.rows, config.cols), np.uint16))

    def header(self) -> bytes:
        return self.wire.header(())

    def write(self, data: bytes) -> None:
        """The controller streams on its own; it reads nothing from the host."""

    def samples(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """Device time in microseconds and frames ``k0..k1-1``; draws their noise."""
        k = np.arange(k0, k1, dtype=np.int64)
        t = k / self.rate
        shape = (k.size, self.model.rows, self.model.cols)
        noise = self._noise.standard_normal(shape, dtype=np.float32) if self.model.noise else None
        return self.boot_us + np.rint(t * 1e6).astype(np.int64), self.model.frames(t, noise)

    def render(self, k0: int, k1: int) -> list[bytes]:
        """The bytes of each of frames ``k0..k1-1`` as they go on the wire."""
        device_us, frames = self.samples(k0, k1)
        return self.wire.render(k0, device_us, frames)
