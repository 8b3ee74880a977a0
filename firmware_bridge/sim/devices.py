"""The simulated devices by name, and what the ``sim://`` port needs from each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from firmware_bridge.sim.loadcells import LoadcellDevice
from firmware_bridge.sim.mat import MatDevice
from firmware_bridge.sim.options import CommonConfig, parse_sim_url


class SimDevice(Protocol):
    """What the ``sim://`` port needs from a device: sample ``k`` is taken at ``k / rate``.

    ``render`` must give the same bytes however a run of samples is split into calls.
    """

    rate: float
    bytes_per_sample: int

    def header(self) -> bytes: ...

    def render(self, k0: int, k1: int) -> list[bytes]: ...

    def write(self, data: bytes) -> None: ...


# name -> (factory, one-line description shown when ports are listed)
DEVICES: dict[str, tuple[Callable[..., SimDevice], str]] = {
    "loadcells": (LoadcellDevice, "simulated HX711 load cells, one per block"),
    "mat": (MatDevice, "simulated pressure mat under both blocks"),
}


def make_device(url: str) -> tuple[CommonConfig, SimDevice]:
    """Parse a ``sim://`` URL and build its device; errors are DeviceError with one line."""
    name, config = parse_sim_url(url)
    factory, _ = DEVICES[name]
    return config, factory(config)
