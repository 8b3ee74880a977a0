"""Events: the marks of a session, and marking one during the recording."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import SessionId, StationDep, StoreDep
from dashboard.web.routes.sessions import open_session
from sensing.plainjson import plain
from sensing.recording import detected
from sensing.vocabulary import MAX_EVENT_TEXT_CHARS, MAX_ID

router = APIRouter(prefix="/api", tags=["events"])
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="an event id")]


class EventIn(BaseModel):
    """A mark typed by a person: placed, removed, marker (with text) or note.

    ``time_s`` (session seconds) is when it was marked, if not now; ``session_id`` names the
    session it was marked in, so a mark the page kept while the server could not be reached
    reaches that session even after it ended.
    """

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(examples=["marker"])
    text: Annotated[str, Field(max_length=MAX_EVENT_TEXT_CHARS)] = ""
    data: dict[str, Any] = Field(default_factory=dict)
    time_s: Annotated[float, Field(ge=-1e7, le=1e7, allow_inf_nan=False)] | None = None
    session_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


@router.post("/events", status_code=status.HTTP_201_CREATED)
def mark_event(body: EventIn, station: StationDep) -> dict[str, Any]:
    """Mark an event in the recording; viewers see it with their next batch."""
    return station.add_event(body.kind, body.text, body.data, body.time_s, body.session_id)


@router.get("/sessions/{session_id}/events")
def session_events(session_id: SessionId, store: StoreDep) -> list[dict[str, Any]]:
    """Every event of a session, in time order (time_s since the session's start)."""
    return [plain(e) for e in open_session(store, session_id).events()]


class MoveIn(BaseModel):
    """Where a person puts a detected event: seconds since the session's start."""

    model_config = ConfigDict(extra="forbid")
    time_s: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)]


@router.post("/sessions/{session_id}/detect", status_code=status.HTTP_201_CREATED)
def detect_events(session_id: SessionId, store: StoreDep) -> dict[str, Any]:
    """Run the detection rule over the stored session (docs/metrics.md); ``edit_id`` is None
    when the stored detected events are already what it finds."""
    return plain(detected.detect(store, session_id).as_dict())


@router.post("/sessions/{session_id}/events/{event_id}/confirm",
             status_code=status.HTTP_201_CREATED)
def confirm_event(session_id: SessionId, event_id: EventId, store: StoreDep) -> dict[str, Any]:
    """A person says a detected event is right; logged in the edit history (undoable)."""
    return {"edit_id": detected.confirm(store, session_id, event_id)}


@router.post("/sessions/{session_id}/events/{event_id}/move",
             status_code=status.HTTP_201_CREATED)
def move_event(session_id: SessionId, event_id: EventId, body: MoveIn,
               store: StoreDep) -> dict[str, Any]:
    """A person puts a detected event at ``time_s``; logged in the edit history (undoable)."""
    return {"edit_id": detected.move(store, session_id, event_id, body.time_s)}


@router.delete("/sessions/{session_id}/events/{event_id}")
def delete_event(session_id: SessionId, event_id: EventId, store: StoreDep) -> dict[str, Any]:
    """A person takes a detected event out; logged in the edit history (undo puts it back)."""
    return {"edit_id": detected.delete(store, session_id, event_id)}
