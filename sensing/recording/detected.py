"""Detected events on a stored session: the rule run again, and a person's confirm, move, delete.

``detect`` runs ``sensing.metrics.detect`` over a stored or imported session and replaces the
detected events sotlog stored before (live, or by an earlier run) with what it finds now, as one
edit in the edit log; run twice, the second run finds the same and changes nothing. A person's
events are never touched. A detected event a person confirmed or moved stays as the person left
it, and one a person deleted stays deleted: a run does not put back what the rule found at the
same time again (a changed conversion may make it find other times, and those are put in).
Every face (``sotlog detect``, ``sotlog event``, the session page) goes through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.errors import StoreError
from sensing.metrics.detect import DetectRule, detect_session
from sensing.store.edits import EVENTS
from sensing.store.records import Event
from sensing.store.sessions import Store
from sensing.store.storefile import utc_now
from sensing.vocabulary import DETECTED_EVENT_KINDS

DETECT_REASON = "sotlog detect"
CONFIRMED, MOVED, DELETED = "confirmed by a person", "moved by a person", "deleted by a person"
ACTIONS = ("confirm", "move", "delete")


def is_detected(event: Event) -> bool:
    """Whether sotlog found ``event`` in the signal (rather than a person or the device)."""
    return event.source == "sotlog" and event.kind in DETECTED_EVENT_KINDS


def decided(event: Event) -> bool:
    """Whether a person has confirmed or moved this detected event."""
    return "confirmed_utc" in event.data or "moved_utc" in event.data


def _key(kind: str, data: dict[str, Any]) -> tuple[str, Any]:
    return kind, data.get("detected_s")


def _row(event: Event) -> dict[str, Any]:
    return {"id": event.id, "host_time": event.host_time, "kind": event.kind,
            "text": event.text, "data": event.data, "source": event.source,
            "created_utc": event.created_utc}


@dataclass
class Redetected:
    """What ``detect`` found and changed."""

    session_id: int
    found: list[dict[str, Any]]  # every event the rule found: kind, time_s, text, data
    replaced: int = 0  # earlier detected events taken out
    added: int = 0
    kept: list[str] = field(default_factory=list)  # what a person decided, left as it is
    edit_id: int | None = None  # None: nothing changed

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def detect(store: Store, session_id: int, rule: DetectRule | None = None) -> Redetected:
    """Run the rule over a stored session and keep what it finds (see the module's text)."""
    with store.session(session_id) as session:
        info = session.info
        if info.status == "recording":
            raise StoreError(f"session {info.id} is still recording: its events are being "
                             "detected live; `sotlog detect` runs on it once it has ended")
        found = detect_session(session, rule)
        events = session.events()
        edits = session.edits()
    mine = [e for e in events if is_detected(e)]
    settled = {_key(e.kind, e.data) for e in mine if decided(e)}
    for edit in edits:  # what a person deleted, unless the deletion was undone
        if edit.field == EVENTS and edit.reason == DELETED and edit.undone_by is None:
            settled |= {_key(e["kind"], e["data"]) for e in edit.old}
    stale = [e for e in mine if not decided(e)]
    add = [{"host_time": d.host_time, "kind": d.kind, "text": d.text, "data": d.data,
            "source": "sotlog"} for d in found if _key(d.kind, d.data) not in settled]
    out = Redetected(info.id, [{"kind": d.kind, "time_s": d.host_time - info.t0_host,
                                "text": d.text, "data": d.data} for d in found],
                     kept=[f"{e.kind} at {e.time_s:.2f} s" for e in mine if decided(e)])
    same = [(e.kind, e.host_time, e.text, e.data) for e in stale] == [
        (a["kind"], a["host_time"], a["text"], a["data"]) for a in add]
    if not same:
        out.edit_id = store.change_events(info.id, [e.id for e in stale], add, DETECT_REASON)
        out.replaced, out.added = len(stale), len(add)
    return out


def _detected(store: Store, session_id: int, event_id: int) -> tuple[Event, float]:
    with store.session(session_id) as session:
        found = next((e for e in session.events() if e.id == event_id), None)
        duration = session.info.duration_s
    if found is None:
        raise StoreError(f"session {session_id} has no event {event_id}")
    if not is_detected(found):
        raise StoreError(f"event {event_id} of session {session_id} is a {found.source}'s "
                         f"{found.kind}, not one sotlog detected: only those are confirmed, "
                         "moved or deleted here")
    return found, duration


def confirm(store: Store, session_id: int, event_id: int) -> int:
    """A person says a detected event is right; logged, the edit's id."""
    event, _ = _detected(store, session_id, event_id)
    if "confirmed_utc" in event.data:
        raise StoreError(f"event {event_id} of session {session_id} is already confirmed")
    row = _row(event)
    row["data"] = {**event.data, "confirmed_utc": utc_now()}
    return store.change_events(session_id, [event_id], [row], CONFIRMED)


def move(store: Store, session_id: int, event_id: int, to_s: float) -> int:
    """A person puts a detected event at session second ``to_s``; logged, the edit's id."""
    event, duration = _detected(store, session_id, event_id)
    if not math.isfinite(to_s) or not 0.0 <= to_s <= duration:
        raise StoreError(f"session {session_id} runs from 0 to {duration:.2f} s: an event "
                         f"cannot be moved to {to_s} s")
    row = _row(event)
    row["host_time"] = event.host_time - event.time_s + float(to_s)
    row["data"] = {**event.data, "moved_utc": utc_now()}
    return store.change_events(session_id, [event_id], [row], MOVED)


def delete(store: Store, session_id: int, event_id: int) -> int:
    """A person takes a detected event out; logged (undo puts it back), the edit's id."""
    _detected(store, session_id, event_id)
    return store.change_events(session_id, [event_id], [], DELETED)
