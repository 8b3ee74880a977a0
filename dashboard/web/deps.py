"""Route dependencies as Annotated aliases: settings, station, store and the caller's role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path
from starlette.requests import HTTPConnection

from dashboard.web.settings import Settings
from dashboard.web.station import Station
from sensing.vocabulary import MAX_ID

if TYPE_CHECKING:
    from sensing.store.sessions import Store

from dashboard.web.guard import FULL


def get_settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


def get_station(conn: HTTPConnection) -> Station:
    station: Station = conn.app.state.station
    return station


def get_store(conn: HTTPConnection) -> Store:
    return get_station(conn).store


def get_role(conn: HTTPConnection) -> str:
    """``full`` or ``viewer``; set by the token gate (``full`` when no token is configured)."""
    return str(conn.scope.get("state", {}).get("role", FULL))


SettingsDep = Annotated[Settings, Depends(get_settings)]
# Ids in paths: SQLite integers (a larger one is 422 with one line, never a 500).
SessionId = Annotated[int, Path(ge=1, le=MAX_ID, description="a session id")]
EditId = Annotated[int, Path(ge=1, le=MAX_ID, description="an edit id")]
CalibrationId = Annotated[int, Path(ge=1, le=MAX_ID, description="a calibration id")]
StationDep = Annotated[Station, Depends(get_station)]
StoreDep = Annotated["Store", Depends(get_store)]
RoleDep = Annotated[str, Depends(get_role)]
