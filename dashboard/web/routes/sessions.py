"""Sessions: search, one session's header, samples, summary, plot, and metadata edits."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import StoreDep, as_json
from dashboard.web.routes.live import BlockIn
from firmware_bridge.errors import SotlogError, StoreError
from sensing.metadata import CATEGORIES, POSITIONS, STATUSES, MetadataError
from sensing.metrics.summary import summarise
from sensing.store.read import Session, SessionInfo
from sensing.store.sessions import Store

router = APIRouter(prefix="/api", tags=["sessions"])
Units = Annotated[str, Query(pattern="^(N|kgf|lbf)$", description="force unit: N, kgf or lbf")]
Day = Annotated[date | None, Query(description="a day (UTC), YYYY-MM-DD")]


class MetaPatch(BaseModel):
    """Fields to change; the ones left out stay as they are. Every change is logged."""

    model_config = ConfigDict(extra="forbid")
    subject_code: Annotated[str | None, Field(max_length=32)] = None
    position: str | None = None
    category: str | None = None
    short_leg: str | None = None
    body_weight_kg: float | None = None
    note: Annotated[str | None, Field(max_length=2000)] = None
    blocks: Annotated[list[BlockIn] | None, Field(max_length=8)] = None


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise MetadataError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


class NotFound(SotlogError):
    """The session asked for is not in the store."""


def open_session(store: Store, session_id: int) -> Session:
    """The session, or NotFound (404) saying it is not there."""
    try:
        return store.session(session_id)
    except StoreError as err:
        raise NotFound(str(err)) from err


def channel_sides(info: SessionInfo) -> dict[str, str | None]:
    """Which side each channel measures: the session's blocks first, then the profile."""
    sides: dict[str, str | None] = {c.name: c.block for c in info.profile.channels}
    for b in info.meta.blocks:
        if b.channel:
            sides[b.channel] = b.side
    return sides


def session_row(info: SessionInfo) -> dict[str, Any]:
    """A session as the sessions list shows it."""
    return as_json({
        "id": info.id, "uuid": info.uuid, "started_utc": info.started_utc,
        "ended_utc": info.ended_utc, "status": info.status, "duration_s": info.duration_s,
        "n_frames": info.n_frames, "profile": info.profile_name, "port": info.port,
        "device": info.device, **info.meta.as_dict(),
    })


@router.get("/sessions")
def list_sessions(
    store: StoreDep,
    q: Annotated[str | None, Query(max_length=32, description="part of the subject code")] = None,
    date_from: Day = None,
    date_to: Day = None,
    category: str | None = None,
    position: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Sessions matching every filter given, newest first."""
    until = date_to + timedelta(days=1) if date_to else None
    infos = store.sessions(since=date_from, until=until,
                           category=_choice("category", category, CATEGORIES),
                           position=_choice("position", position, POSITIONS),
                           status=_choice("status", status, STATUSES))
    if q:
        needle = q.strip().lower()
        infos = [i for i in infos if needle in (i.meta.subject_code or "").lower()]
    return [session_row(i) for i in infos[:limit]]


@router.get("/sessions/{session_id}")
def session_detail(session_id: int, store: StoreDep) -> dict[str, Any]:
    """A session's header: metadata, device, counters, conversion, and every metadata edit."""
    with open_session(store, session_id) as s:
        info = s.info
        return {
            **session_row(info),
            "meta": as_json(info.meta.as_dict()),
            "software_version": info.software_version,
            "format_version": info.format_version,
            "counters": as_json(info.counters),
            "conversion": as_json(info.conversion),
            "channel_names": info.channel_names,
            "channels": _read_channels(s),
            "frame_shape": list(info.frame_shape),
            "sides": channel_sides(info),
            "edits": [as_json(e) for e in s.edits()],
        }


def _read_channels(s: Session) -> list[str]:
    """The channels a session reads as: a mat's block regions and total, else its channels."""
    if s.info.is_matrix:
        return [*(r.name for r in s.mat_regions()), "total"]
    return list(s.info.channel_names)


@router.patch("/sessions/{session_id}")
def edit_session(session_id: int, body: MetaPatch, store: StoreDep) -> dict[str, Any]:
    """Change metadata afterwards; the old values are kept in the edit log with the time."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise MetadataError("nothing to change: send at least one field")
    for key in ("subject_code", "position", "category", "short_leg"):
        if key in changes and changes[key] == "":
            changes[key] = None
    if "note" in changes and changes["note"] is None:
        changes["note"] = ""
    if "blocks" in changes and changes["blocks"] is None:
        changes["blocks"] = []
    open_session(store, session_id).close()  # a missing session: 404 before anything is written
    return as_json(store.update_meta(session_id, changes).as_dict())


def _samples(s: Session, units: str, t0: float | None, t1: float | None) -> dict[str, Any]:
    smp = s.samples(units=units, t0=t0, t1=t1)
    return as_json({
        "time_s": smp.time_s, "names": smp.names, "units": smp.units,
        "values": {n: smp.values[:, i] for i, n in enumerate(smp.names)},
        "sides": channel_sides(s.info),
    })


@router.get("/sessions/{session_id}/samples")
def session_samples(session_id: int, store: StoreDep, units: Units = "N",
                    t0: float | None = None, t1: float | None = None) -> dict[str, Any]:
    """Force per channel over time (time_s since the start); NaN is sent as null."""
    with open_session(store, session_id) as s:
        return _samples(s, units, t0, t1)


@router.get("/sessions/{session_id}/summary")
def session_summary(session_id: int, store: StoreDep, units: Units = "N"
                    ) -> dict[str, Any]:
    """Per channel: count, mean, SD, extremes, mean on the blocks, share; time on the blocks."""
    with open_session(store, session_id) as s:
        summary = summarise(s.samples(units=units), s.info.meta.body_weight_kg)
        return {**as_json(summary.as_dict()), "units": units, "sides": channel_sides(s.info)}


@router.get("/sessions/{session_id}/plot.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def session_plot(session_id: int, store: StoreDep, units: Units = "N") -> Response:
    """Force per channel over time with the events marked, as a PNG."""
    from sensing.outputs.plots import plot_session

    with open_session(store, session_id) as s, tempfile.TemporaryDirectory() as tmp:
        path = plot_session(s, Path(tmp) / f"session-{session_id}.png", units=units)
        return Response(Path(path).read_bytes(), media_type="image/png")
