"""Dashboard settings: one pydantic model, filled by the command line or by tests."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from firmware_bridge.errors import SettingsError
from sensing.vocabulary import OUTPUT_UNITS

# Hosts that only this machine can reach; any other bind needs a token.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SIM_URL = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1"
SIM_PROFILE = "sim-loadcells"


def _unit(value: str) -> str:
    if value not in OUTPUT_UNITS:
        raise ValueError(f"units must be one of {', '.join(OUTPUT_UNITS)}, not {value!r}")
    return value


class Settings(BaseModel):
    """How the dashboard runs: where it listens, who may use it, which device it opens first.

    ``port`` and ``profile`` name the device (a pyserial URL and a profile name or path);
    ``http_port`` is where the web page listens. ``simulate`` opens the simulated load cells.
    """

    host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    port: str | None = None
    profile: str | None = None
    simulate: bool = False
    store: str | None = None  # a path, sqlite:///path or postgresql://…; None: $SOTLOG_STORE…
    token: str | None = None  # full access; falls back to $SOTLOG_TOKEN
    viewer_token: str | None = None  # read-only: GET and watching the live stream
    window_s: Annotated[int, Field(ge=30, le=120)] = 60  # default width of the live traces
    units: Annotated[str, AfterValidator(_unit)] = "N"
    live_interval_s: Annotated[float, Field(gt=0, le=1.0)] = 0.035  # a batch per viewer, ~28/s
    ring_seconds: Annotated[float, Field(ge=10, le=3600)] = 150.0  # live history in memory
    lsl: bool = False  # also publish forces and events on Lab Streaming Layer (sotlog[lsl])
    allow_hosts: list[Annotated[str, Field(min_length=1, max_length=253)]] = []  # --allow-host

    def allowed_hosts(self) -> list[str]:
        """Host names the dashboard answers to besides loopback: those allowed, and the address
        it listens on when that is not a wildcard."""
        bound = [] if self.host in ("0.0.0.0", "::", "") else [self.host]
        return [*self.allow_hosts, *bound]

    def resolved_token(self) -> str | None:
        """The full-access token: the setting, else $SOTLOG_TOKEN, else None."""
        return self.token or os.environ.get("SOTLOG_TOKEN") or None

    def device(self) -> tuple[str, str] | None:
        """The (url, profile) to open at start, or None to wait for the page to choose."""
        from firmware_bridge.sim.implied import profile_for  # a sim:// port implies its own

        if self.simulate and not self.port:
            return (SIM_URL, self.profile or SIM_PROFILE)
        if self.port:
            return (self.port, profile_for(self.port, self.profile))
        return None

    def check(self) -> None:
        """Refuse to listen beyond this machine without a token."""
        if self.host not in LOCAL_HOSTS and not self.resolved_token():
            raise SettingsError(
                f"listening on {self.host} needs a token (--token or SOTLOG_TOKEN); "
                "without one the dashboard only listens on 127.0.0.1"
            )
        if self.viewer_token and self.viewer_token == self.resolved_token():
            raise SettingsError("the viewer token must differ from the full-access token")
        if self.viewer_token and not self.resolved_token():
            raise SettingsError("a viewer token needs a full-access token as well")
        if self.lsl:
            import importlib.util

            if importlib.util.find_spec("pylsl") is None:
                raise SettingsError("--lsl needs pylsl (Lab Streaming Layer); install it with: "
                                    "pip install 'sotlog[lsl]'")
