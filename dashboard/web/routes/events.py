"""Events: the marks of a session, and marking one during the recording."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import StationDep, StoreDep, as_json
from dashboard.web.routes.sessions import open_session

router = APIRouter(prefix="/api", tags=["events"])


class EventIn(BaseModel):
    """A mark typed by a person: placed, removed, marker (with text) or note."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(examples=["marker"])
    text: Annotated[str, Field(max_length=500)] = ""
    data: dict[str, Any] = Field(default_factory=dict)


@router.post("/events", status_code=status.HTTP_201_CREATED)
def mark_event(body: EventIn, station: StationDep) -> dict[str, Any]:
    """Mark an event in the recording now running; viewers see it with their next batch."""
    return station.add_event(body.kind, body.text, body.data)


@router.get("/sessions/{session_id}/events")
def session_events(session_id: int, store: StoreDep) -> list[dict[str, Any]]:
    """Every event of a session, in time order (time_s since the session's start)."""
    return [as_json(e) for e in open_session(store, session_id).events()]
