"""Fixtures of the wire tests."""

from __future__ import annotations

from typing import Any

import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.profiles import Profile, load_profile


@pytest.fixture()
def loadcells() -> Profile:
    return load_profile("sotlog-loadcells")


@pytest.fixture()
def bridges() -> Any:
    """Every bridge a test makes is stopped at the end, even when the test fails."""
    made: list[Bridge] = []

    def make(url: str, profile: Profile, **kw: Any) -> Bridge:
        b = Bridge(url, profile, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()
