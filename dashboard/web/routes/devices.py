"""Devices: the ports and profiles to choose from, and the one connection the dashboard holds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from dashboard.web.deps import RoleDep, SettingsDep, StationDep
from firmware_bridge.ports import list_ports
from firmware_bridge.profiles import builtin_names, load_profile

router = APIRouter(prefix="/api", tags=["devices"])


class ConnectRequest(BaseModel):
    """Which port to open, read with which profile."""

    url: Annotated[str, Field(min_length=1, max_length=500, examples=["/dev/ttyUSB0"])]
    profile: Annotated[str, Field(min_length=1, max_length=500, examples=["hx711-arduino"])]


class ProfileSummary(BaseModel):
    """A built-in profile as the page lists it."""

    name: str
    description: str
    protocol: str
    channels: list[str]
    matrix: list[int] | None


@router.get("/devices")
def devices() -> dict[str, Any]:
    """Serial ports present now and the simulated devices, with the built-in profile names."""
    return {"ports": [asdict(p) for p in list_ports()], "profiles": builtin_names()}


@router.get("/profiles")
def profiles() -> list[ProfileSummary]:
    """The built-in profiles."""
    out = []
    for name in builtin_names():
        p = load_profile(name)
        out.append(ProfileSummary(
            name=name, description=p.description, protocol=p.protocol,
            channels=p.channel_names,
            matrix=[p.matrix.rows, p.matrix.cols] if p.matrix else None))
    return out


@router.get("/access")
def access(role: RoleDep, settings: SettingsDep) -> dict[str, Any]:
    """What this caller may do (``full`` or ``viewer``) and the page's starting units/window."""
    return {"role": role, "units": settings.units, "window_s": settings.window_s}


@router.get("/status")
def station_status(station: StationDep) -> dict[str, Any]:
    """Connection state, frame rate, the bridge's counters and the recording, if any."""
    return station.status()


@router.put("/connection")
def connect(body: ConnectRequest, station: StationDep) -> dict[str, Any]:
    """Open a device (closing the one open before); 409 with the reason if it cannot be opened."""
    return station.connect(body.url, body.profile)


@router.delete("/connection", status_code=status.HTTP_204_NO_CONTENT)
def disconnect(station: StationDep) -> None:
    """Close the device."""
    station.disconnect()
