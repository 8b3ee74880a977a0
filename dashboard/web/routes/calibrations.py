"""Calibrations: the stored records, and a calibration run on the open device, step by step."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import CalibrationId, StationDep, StoreDep
from firmware_bridge.errors import CalibrationError
from sensing.plainjson import plain

router = APIRouter(prefix="/api", tags=["calibrations"])


class CalibrationRequest(BaseModel):
    """What to calibrate on the open device, with which known loads, and how to judge steady."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["cells", "equilibrate", "total"] = Field(
        "cells", description="cells: each load cell; a mat: equilibrate (even load) or total")
    channels: Annotated[list[str], Field(max_length=16)] = Field(
        default_factory=list, description="channels to calibrate (default every channel)")
    weights: Annotated[list[float], Field(min_length=1, max_length=20)] = Field(
        default_factory=lambda: [0.0, 5.0, 10.0, 20.0], description="known loads, in order")
    unit: str = Field("kg", description="unit of the weights: kg, g, N, kgf, lbf, lb")
    fit: str = Field("linear", description="linear or quadratic")
    scripted: bool = Field(False, description="loads arrive on their own (a rig, a simulator)")
    window_s: Annotated[float, Field(ge=0.2, le=10.0)] = 1.0
    settle_sd: Annotated[float, Field(ge=0.0, le=1e9)] = 0.0
    timeout_s: Annotated[float, Field(gt=0.0, le=600.0)] = 60.0
    by: Annotated[str, Field(max_length=64)] = ""
    note: Annotated[str, Field(max_length=500)] = ""

    def checked(self) -> dict[str, Any]:
        from sensing.calibration.fit import FIT_DEGREES, newtons_per

        newtons_per(self.unit)  # an unknown unit: one line, 400
        if self.fit not in FIT_DEGREES:
            raise CalibrationError(f"fit must be one of {', '.join(FIT_DEGREES)}, not {self.fit!r}")
        return self.model_dump()


def _records(store: Any, profile: str | None, channel: str | None) -> list[dict[str, Any]]:
    from sensing.store.calibrations import CalibrationStore

    return [plain(c.record()) for c in CalibrationStore(store).all(profile, channel)]


@router.get("/calibrations")
def list_calibrations(
    store: StoreDep,
    profile: Annotated[str | None, Query(max_length=200)] = None,
    channel: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    """Stored calibrations, newest first: points, fit, residuals and non-linearity."""
    return _records(store, profile, channel)


@router.get("/calibrations/{cal_id}")
def one_calibration(cal_id: CalibrationId, store: StoreDep) -> dict[str, Any]:
    """One stored calibration record."""
    from sensing.store.calibrations import CalibrationStore

    return plain(CalibrationStore(store).get(cal_id).record())


@router.post("/calibration", status_code=status.HTTP_201_CREATED)
def start_calibration(body: CalibrationRequest, station: StationDep) -> dict[str, Any]:
    """Start a calibration run on the open device; follow it with GET /api/calibration."""
    args = body.checked()
    run = station.start_calibration(args, body.mode, body.scripted)
    return run.status()


@router.get("/calibration")
def calibration_status(station: StationDep) -> dict[str, Any]:
    """The current (or last) run: each step, settling or settled, and the fitted records."""
    if station.calibrating is None:
        return {"state": "none"}
    return plain(station.calibrating.status())


@router.post("/calibration/placed")
def weight_placed(station: StationDep) -> dict[str, Any]:
    """The weight asked for is on: wait for a steady reading of it."""
    run = station.current_calibration()
    run.placed()
    return plain(run.status())


@router.post("/calibration/save")
def save_calibration(station: StationDep) -> dict[str, Any]:
    """Store the fitted records; the live view and the next sessions read with them."""
    return {"ids": station.save_calibration()}


@router.delete("/calibration", status_code=status.HTTP_204_NO_CONTENT)
def cancel_calibration(station: StationDep) -> None:
    """Cancel the run, or discard its fitted records; nothing is stored."""
    station.current_calibration().cancel()
