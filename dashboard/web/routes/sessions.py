"""Sessions: search, one session's header, samples, summary, plot, and metadata edits."""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import numpy as np
from fastapi import APIRouter, Body, Query, Response

from dashboard.web.deps import EditId, SessionId, StoreDep
from firmware_bridge.errors import MetadataError
from sensing.calibration.conversion import describe_zeros
from sensing.metrics import visits
from sensing.metrics.measures import channel_sides, session_measures
from sensing.metrics.onblocks import cumulative_on_blocks, loaded_mask
from sensing.metrics.summary import summarise
from sensing.plainjson import plain
from sensing.store.listing import Filters, Listed
from sensing.store.read import Samples, Session
from sensing.store.sessions import Store
from sensing.vocabulary import (
    CATEGORIES,
    MAX_ID,
    OUTPUT_UNITS,
    POSITIONS,
    STATUSES,
    check_choice,
)

router = APIRouter(prefix="/api", tags=["sessions"])
Units = Annotated[str, Query(pattern=f"^({'|'.join(OUTPUT_UNITS)})$",
                             description=f"force unit: {', '.join(OUTPUT_UNITS)}")]
Day = Annotated[date | None, Query(description="a day (UTC), YYYY-MM-DD")]


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    try:
        return check_choice(name, value, allowed)
    except ValueError as err:
        raise MetadataError(str(err)) from None


def _one_of(words: tuple[str, ...]) -> dict[str, Any]:
    """The schema of a query taking one of ``words`` or nothing (a blank form field: any); the
    route checks it, so a wrong word is one line naming the words."""
    return {"enum": ["", *words]}


def open_session(store: Store, session_id: int) -> Session:
    """The session, or NotFound (404) saying it is not there."""
    return store.session(session_id)


def session_row(listed: Listed) -> dict[str, Any]:
    """A session as the sessions list shows it."""
    return plain(listed.as_dict())


TOTAL_HEADER = "X-Total-Count"
VISITS_PER_LIST = 20  # visits a subject search works out at most (each reads a session)


@router.get("/sessions", responses={200: {"headers": {TOTAL_HEADER: {
    "description": "how many sessions match the filters in all (offset + limit pages on)",
    "schema": {"type": "integer"}}}}})
def list_sessions(
    store: StoreDep,
    response: Response,
    q: Annotated[str | None, Query(max_length=32, description="part of the subject code")] = None,
    date_from: Day = None,
    date_to: Day = None,
    category: Annotated[str | None, Query(json_schema_extra=_one_of(CATEGORIES))] = None,
    position: Annotated[str | None, Query(json_schema_extra=_one_of(POSITIONS))] = None,
    status: Annotated[str | None, Query(json_schema_extra=_one_of(STATUSES))] = None,
    station: Annotated[str | None, Query(max_length=64, description="a station's name (a "
                                         "shared store)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="at most this many")] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="skip the newest N that match")
                      ] = 0,
) -> list[dict[str, Any]]:
    """Sessions matching every filter given, newest first: ``limit`` of them after the first
    ``offset``; the ``X-Total-Count`` header says how many match in all."""
    until = date_to + timedelta(days=1) if date_to else None
    if station and not store.url:
        raise MetadataError("station: filters a shared store's sessions; this store is one "
                            "station's")
    page = store.page(Filters(subject_part=q or None, since=date_from, until=until,
                              category=_choice("category", category, CATEGORIES),
                              position=_choice("position", position, POSITIONS),
                              status=_choice("status", status, STATUSES),
                              station=station or None), limit, offset)
    response.headers[TOTAL_HEADER] = str(page.total)
    if q:  # a subject's visits: those not worked out yet are, a few at a time
        visits.fill(store, page.sessions, VISITS_PER_LIST)
    return [session_row(i) for i in page.sessions]


@router.get("/sessions/{session_id}")
def session_detail(session_id: SessionId, store: StoreDep) -> dict[str, Any]:
    """A session's header: metadata, device, counters, conversion, and every metadata edit."""
    with open_session(store, session_id) as s:
        info = s.info
        return {
            **session_row(info.listed()),
            "meta": plain(info.meta.as_dict()),
            "software_version": info.software_version,
            "format_version": info.format_version,
            "counters": plain(info.counters),
            "decoded_nothing": info.decoded_nothing,
            "conversion": plain(info.conversion),
            "channel_names": info.channel_names,
            "channels": _read_channels(s),
            "frame_shape": list(info.frame_shape),
            "sides": channel_sides(info),
            "edits": [plain(e) for e in s.edits()],
            "zeros": describe_zeros(info.conversion, info.channel_names or ["total"]),
            "end_reason": info.end_reason,
            "face": info.face,
        }


def _read_channels(s: Session) -> list[str]:
    """The channels a session reads as: a mat's block regions and total, else its channels."""
    if s.info.is_matrix:
        return [*(r.name for r in s.mat_regions()), "total"]
    return list(s.info.channel_names)


@router.patch("/sessions/{session_id}")
def edit_session(session_id: SessionId, store: StoreDep,
                 changes: Annotated[dict[str, Any], Body(examples=[{"category": "II"}],
                                                         json_schema_extra={"minProperties": 1})]
                 ) -> dict[str, Any]:
    """Change metadata fields afterwards (those of ``SessionMeta``; the ones left out stay as
    they are); the old values are kept in the edit log with the time."""
    if not changes:
        raise MetadataError("nothing to change: send at least one field")
    return plain(store.update_meta(session_id, changes).as_dict())


@router.post("/sessions/{session_id}/edits/{edit_id}/undo", status_code=201)
def undo_edit(session_id: SessionId, edit_id: EditId, store: StoreDep) -> dict[str, Any]:
    """Put back what one logged edit changed (metadata, tare, calibration or regions); the undo
    is itself logged and can be undone."""
    return {"edit_id": store.undo_edit(session_id, edit_id)}


class _Whole(NamedTuple):
    samples: Samples
    loaded: np.ndarray
    threshold: float | None
    on_blocks_s: np.ndarray


WHOLE_KEPT = 2  # sessions' samples kept for the pages that follow the first (a replay loading)
_whole_kept: OrderedDict[tuple[Any, ...], _Whole] = OrderedDict()
_whole_lock = threading.Lock()


def _whole(s: Session, units: str) -> _Whole:
    """The session's samples, and on the blocks by the rule over the whole session, whatever
    part of it is asked for; kept for the next pages while the session stays as it is."""
    info = s.info
    key = (str(s.path), s.id, units, info.n_frames, info.ended_utc, len(s.edits()))
    with _whole_lock:
        if key in _whole_kept:
            _whole_kept.move_to_end(key)
            return _whole_kept[key]
    smp = s.samples(units=units)
    loaded, threshold = loaded_mask(smp.values, smp.names, smp.units)
    whole = _Whole(smp, loaded, threshold, cumulative_on_blocks(smp.time_s, loaded))
    with _whole_lock:
        _whole_kept[key] = whole
        while len(_whole_kept) > WHOLE_KEPT:
            _whole_kept.popitem(last=False)
    return whole


def _samples(s: Session, units: str, t0: float | None, t1: float | None) -> dict[str, Any]:
    w = _whole(s, units)
    t = w.samples.time_s
    i = 0 if t0 is None else int(np.searchsorted(t, t0, "left"))
    j = len(t) if t1 is None else int(np.searchsorted(t, t1, "left"))
    smp = w.samples
    return plain({
        "time_s": t[i:j], "names": smp.names, "units": smp.units,
        "values": {n: smp.values[i:j, k] for k, n in enumerate(smp.names)},
        "sides": channel_sides(s.info),
        "on_blocks_s": w.on_blocks_s[i:j],
        "loaded": w.loaded[i:j], "loaded_threshold": w.threshold,
    })


@router.get("/sessions/{session_id}/samples")
def session_samples(session_id: SessionId, store: StoreDep, units: Units = "N",
                    t0: float | None = None, t1: float | None = None) -> dict[str, Any]:
    """Force per channel over time (time_s since the start), from ``t0`` up to ``t1`` (seconds;
    either may be left out); NaN is sent as null. ``loaded`` and ``on_blocks_s`` follow the
    on-the-blocks rule over the whole session, whatever span is asked for, so a replay can load
    a long session a page at a time."""
    with open_session(store, session_id) as s:
        return _samples(s, units, t0, t1)


@router.get("/sessions/{session_id}/summary")
def session_summary(session_id: SessionId, store: StoreDep, units: Units = "N"
                    ) -> dict[str, Any]:
    """Per channel: count, mean, SD, extremes, mean on the blocks, share; time on the blocks."""
    with open_session(store, session_id) as s:
        summary = summarise(s.samples(units=units), s.info.meta.body_weight_kg)
        return {**plain(summary.as_dict()), "units": units, "sides": channel_sides(s.info)}


@router.get("/sessions/{session_id}/measures")
def measures(session_id: SessionId, store: StoreDep, units: Units = "N") -> dict[str, Any]:
    """The descriptive measures (docs/metrics.md): per block and both together, over the whole
    session and between the placed and removed events, each with unit, window and formula."""
    with open_session(store, session_id) as s:
        found = session_measures(s, units)
        return {**plain(found.as_dict()), "table": plain(found.table()), "units": units}


@router.get("/sessions/{session_id}/plot.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def session_plot(session_id: SessionId, store: StoreDep, units: Units = "N") -> Response:
    """Force per channel over time with the events marked, as a PNG."""
    from sensing.outputs.plots import plot_session

    with open_session(store, session_id) as s, tempfile.TemporaryDirectory() as tmp:
        path = plot_session(s, Path(tmp) / f"session-{session_id}.png", units=units)
        return Response(Path(path).read_bytes(), media_type="image/png")
