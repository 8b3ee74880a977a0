"""The built-in profile that reads each simulated device: a ``sim://`` URL says what it is."""

from __future__ import annotations

from firmware_bridge.errors import ProfileError
from firmware_bridge.sim.options import LoadcellConfig, MatConfig, parse_sim_url

# What decides the layout of a simulated device's bytes -> the built-in profile that reads them.
# Rate, seed and load do not change the layout (a profile's scale is seed 1's: simulator.md).
PROFILES: dict[tuple[object, ...], str] = {
    ("loadcells", "lines", 2): "sim-loadcells",
    ("loadcells", "lines", 4): "sim-loadcells-4",
    ("loadcells", "blockframe", 2): "sim-loadcells-blockframe",
    ("loadcells", "binary", 2): "sim-loadcells-binary",
    ("mat", "blockframe", 32, 32): "sim-mat",
    ("mat", "blockframe", 48, 48): "sim-mat-48",
}


def _layout(url: str) -> tuple[object, ...]:
    device, config = parse_sim_url(url)
    if isinstance(config, LoadcellConfig):
        return (device, config.protocol, config.blocks)
    assert isinstance(config, MatConfig)
    return (device, config.protocol, config.rows, config.cols)


def implied_profile(url: str) -> str:
    """The built-in profile of the simulated device at ``url``; a ProfileError when no built-in
    profile reads it (a bad URL is a DeviceError, as opening it would be)."""
    name = PROFILES.get(_layout(url))
    if name is None:
        raise ProfileError(f"{url}: no built-in profile reads this simulated device; give a "
                           "profile")
    return name


def profile_for(url: str, given: str | None) -> str:
    """The profile to read ``url`` with: the one ``given`` (a name or a file), else the one a
    ``sim://`` device implies; a ProfileError for any other port given none."""
    if given is not None:
        return given
    if url.lower().startswith("sim://"):
        return implied_profile(url)
    raise ProfileError(f"{url}: no profile given (only a sim:// device implies its own)")
