"""A ``sim://`` URL implies the built-in profile that reads it; an explicit one still wins."""

from __future__ import annotations

import time

import pytest
import serial

from firmware_bridge.errors import DeviceError, ProfileError
from firmware_bridge.profiles import load_profile
from firmware_bridge.protocols import make_decoder
from firmware_bridge.sim.implied import PROFILES, implied_profile, profile_for
from firmware_bridge.urlhandler import register

register()


def url_of(layout: tuple[object, ...]) -> str:
    device, protocol, *dims = layout
    size = f"blocks={dims[0]}" if device == "loadcells" else f"rows={dims[0]}&cols={dims[1]}"
    return f"sim://{device}?protocol={protocol}&{size}&seed=3&speed=20"


@pytest.mark.parametrize("layout", sorted(PROFILES, key=str), ids=str)
def test_each_implied_profile_reads_its_device(layout: tuple[object, ...]) -> None:
    """Another seed and speed than the profile's comment names: the layout alone decides."""
    url = url_of(layout)
    name = implied_profile(url)
    dec = make_decoder(load_profile(name))
    frames = 0
    deadline = time.monotonic() + 10
    with serial.serial_for_url(url, timeout=0.05) as port:
        while frames < 20:
            assert time.monotonic() < deadline, f"{url}: {frames} frames with {name}"
            got = dec.feed(port.read(max(1, port.in_waiting)), time.monotonic())
            frames += 0 if got.frames is None else len(got.frames)
    assert dec.counters.undecodable == dec.counters.wrong_size == 0, dec.counters


def test_an_explicit_profile_wins_and_other_ports_need_one() -> None:
    assert profile_for("sim://loadcells?protocol=blockframe", None) == "sim-loadcells-blockframe"
    assert profile_for("sim://loadcells?protocol=blockframe", "my.toml") == "my.toml"
    with pytest.raises(ProfileError, match="no profile given"):
        profile_for("/dev/ttyUSB0", None)


def test_a_device_no_builtin_profile_reads_is_one_line() -> None:
    with pytest.raises(ProfileError, match="no built-in profile reads"):
        implied_profile("sim://mat?rows=20&cols=20")
    with pytest.raises(DeviceError, match="unknown option"):
        implied_profile("sim://mat?colour=red")
