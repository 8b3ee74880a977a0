"""The edit log: every change to a stored session's metadata or conversion, and its undo.

A change writes one ``session_edits`` row per field (metadata fields by name; the conversion
dict, with tare, calibration and mat regions, as ``conversion``) with the old and new values,
when, and why. Undoing an edit is itself an edit: it puts the old value back, names the edit it
undoes, and can be undone in turn. Nothing in the log is ever deleted.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from firmware_bridge.errors import NotFound, StoreError
from sensing.calibration.conversion import zero_segments
from sensing.mat.blocks import REGIONS_KEY
from sensing.metadata import FIELDS as META_FIELDS
from sensing.metadata import SessionMeta
from sensing.plainjson import dumps
from sensing.rounding import shown
from sensing.store.listing import meta_dict
from sensing.store.schema import insert
from sensing.vocabulary import LANDMARK_LABELS

CONVERSION = "conversion"
# The field of an edit that changes events: its old and new values are lists of event rows
# (``event_row``), those taken out and those put in, so an undo swaps them back.
EVENTS = "events"


def meta_columns(meta: SessionMeta) -> dict[str, Any]:
    """The ``sessions`` columns that hold ``meta``."""
    d = meta.as_dict()
    blocks = d.pop("blocks")
    return {**d, "blocks_json": dumps(blocks)}


def meta_of(row: sqlite3.Row) -> SessionMeta:
    """The SessionMeta held in a ``sessions`` row."""
    return SessionMeta.from_dict(meta_dict(row))


def session_row(conn: sqlite3.Connection, session_id: int, where: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no session {session_id} in {where}")
    return row


def _log(conn: sqlite3.Connection, session_id: int, at_utc: str, field: str, old: Any,
         new: Any, reason: str, undoes: int | None = None) -> int:
    return insert(conn, "session_edits", {
        "session_id": session_id, "at_utc": at_utc, "field": field, "old_json": old,
        "new_json": new, "reason": reason, "undoes": undoes})


def change_meta(conn: sqlite3.Connection, row: sqlite3.Row, changes: dict[str, Any],
                at_utc: str, reason: str = "", undoes: int | None = None) -> SessionMeta:
    """Apply metadata ``changes`` to the session in ``row``; each changed field is logged."""
    old = meta_of(row)
    new = old.changed(changes)
    old_d, new_d = old.as_dict(), new.as_dict()
    for name in META_FIELDS:
        if old_d[name] != new_d[name]:
            _log(conn, row["id"], at_utc, name, dumps(old_d[name]), dumps(new_d[name]), reason,
                 undoes)
    cols = meta_columns(new)
    sets = ", ".join(f"{k} = :{k}" for k in cols)
    conn.execute(f"UPDATE sessions SET {sets} WHERE id = :id", {**cols, "id": row["id"]})
    return new


def change_conversion(conn: sqlite3.Connection, row: sqlite3.Row, conversion: dict[str, Any],
                      at_utc: str, reason: str = "", undoes: int | None = None) -> int:
    """Replace the session's conversion dict; the change is logged. The edit's id."""
    new = dumps(conversion)
    eid = _log(conn, row["id"], at_utc, CONVERSION, row["conversion_json"], new, reason, undoes)
    # the force it reads changes, so what a visit list keeps of it is worked out again
    conn.execute("UPDATE sessions SET conversion_json = ?, visit_json = NULL WHERE id = ?",
                 (new, row["id"]))
    return eid


def event_row(r: sqlite3.Row, t0_host: float) -> dict[str, Any]:
    """An ``events`` row as the edit log keeps it (with its session time, for reading); in the
    shared store, a station's event keeps its id there, so the sync knows it was changed."""
    kept = {"id": r["id"], "time_s": r["host_time"] - t0_host, "host_time": r["host_time"],
            "kind": r["kind"], "text": r["text"], "data": json.loads(r["data_json"]),
            "source": r["source"], "created_utc": r["created_utc"]}
    if "station_id" in r.keys() and r["station_id"] is not None:  # noqa: SIM118 (a Row)
        kept["station_id"] = r["station_id"]
    return kept


def change_events(conn: sqlite3.Connection, row: sqlite3.Row, remove: list[int],
                  add: list[dict[str, Any]], at_utc: str, reason: str = "",
                  undoes: int | None = None) -> int:
    """Take events ``remove`` (ids) out of the session in ``row`` and put ``add`` in (rows as
    ``event_row`` gives them; one with an ``id`` keeps it while it is free); one logged edit,
    its id. Moving or confirming an event takes it out and puts the changed one in."""
    sid, t0 = row["id"], row["t0_host"]
    old = []
    for eid in remove:
        found = conn.execute("SELECT * FROM events WHERE id = ? AND session_id = ?",
                             (eid, sid)).fetchone()
        if found is None:
            raise NotFound(f"session {sid} has no event {eid}")
        old.append(event_row(found, t0))
        conn.execute("DELETE FROM events WHERE id = ?", (eid,))
    new = []
    for e in add:
        values = {"session_id": sid, "host_time": float(e["host_time"]), "kind": e["kind"],
                  "text": e.get("text", ""), "data_json": dumps(e.get("data") or {}),
                  "created_utc": e.get("created_utc") or at_utc, "source": e["source"]}
        if e.get("id") is not None and conn.execute("SELECT 1 FROM events WHERE id = ?",
                                                     (e["id"],)).fetchone() is None:
            values["id"] = int(e["id"])
        eid = insert(conn, "events", values)
        new.append(event_row(conn.execute("SELECT * FROM events WHERE id = ?", (eid,)).fetchone(),
                             t0))
    return _log(conn, sid, at_utc, EVENTS, dumps(old), dumps(new), reason, undoes)


def events_changed_since(conn: sqlite3.Connection, session_id: int,
                         put_in: list[dict[str, Any]]) -> str:
    """Why an events edit can no longer be undone (an event it put in was changed or taken out
    since), or "" when it can: events edits undo in any order that keeps to this."""
    for e in put_in:
        now = conn.execute("SELECT host_time, kind, data_json FROM events WHERE id = ? AND "
                           "session_id = ?", (e["id"], session_id)).fetchone()
        if now is None or (now["host_time"], now["kind"], json.loads(now["data_json"])) != (
                e["host_time"], e["kind"], e["data"]):
            return f"event {e['id']} ({e['kind']}) was changed or taken out since"
    return ""


def latest_undoable(conn: sqlite3.Connection, session_id: int) -> int:
    """The newest edit that is not itself an undo and has not been undone."""
    found = conn.execute(
        "SELECT id FROM session_edits e WHERE session_id = ? AND undoes IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM session_edits u WHERE u.undoes = e.id) ORDER BY id DESC LIMIT 1",
        (session_id,)).fetchone()
    if found is None:
        raise StoreError(f"session {session_id} has no edit left to undo")
    return int(found[0])


def undo(conn: sqlite3.Connection, row: sqlite3.Row, edit_id: int, at_utc: str) -> int:
    """Put back the value edit ``edit_id`` replaced, as a new logged edit; its id.

    An edit whose field has changed again since is refused: undo the later one first.
    """
    sid = row["id"]
    edit = conn.execute("SELECT * FROM session_edits WHERE id = ? AND session_id = ?",
                        (edit_id, sid)).fetchone()
    if edit is None:
        raise NotFound(f"session {sid} has no edit {edit_id}")
    done = conn.execute("SELECT id FROM session_edits WHERE undoes = ?", (edit_id,)).fetchone()
    if done is not None:
        raise StoreError(f"edit {edit_id} of session {sid} was already undone (by edit {done[0]})")
    field = edit["field"]
    if field == EVENTS:
        changed = events_changed_since(conn, sid, json.loads(edit["new_json"]))
        if changed:
            raise StoreError(f"edit {edit_id} of session {sid}: {changed}: undo that first")
    newer = None if field == EVENTS else conn.execute(
        "SELECT id FROM session_edits WHERE session_id = ? AND field = ? AND id > ? "
        "ORDER BY id LIMIT 1", (sid, field, edit_id)).fetchone()
    if newer is not None:
        raise StoreError(f"edit {edit_id} of session {sid} changed {field}, which edit "
                         f"{newer[0]} changed again since: undo that one first")
    reason = f"undo of edit {edit_id}"
    old = json.loads(edit["old_json"])
    if field == CONVERSION:
        return change_conversion(conn, row, old, at_utc, reason, edit_id)
    if field == EVENTS:
        put_in = [e["id"] for e in json.loads(edit["new_json"])]
        return change_events(conn, row, put_in, old, at_utc, reason, edit_id)
    before = conn.execute("SELECT coalesce(max(id), 0) FROM session_edits").fetchone()[0]
    change_meta(conn, row, {field: old}, at_utc, reason, edit_id)
    after = conn.execute("SELECT coalesce(max(id), 0) FROM session_edits").fetchone()[0]
    if after == before:
        raise StoreError(f"edit {edit_id} of session {sid}: {field} already holds its old value")
    return int(after)


FIELD_LABELS = {"subject_code": "Subject code", "position": "Position", "category": "Category",
                "short_leg": "Short-leg side", "body_weight_kg": "Body weight", "note": "Note",
                "blocks": "Blocks"}


def describe(field: str, old: Any, new: Any, undoes: int | None = None) -> str:
    """One edit in words a practitioner reads: ``Category II → I``,
    ``Tare from 12.34 s (left 8123, right 7990 raw)``, ``Undo of edit 5: ...``."""
    if field == CONVERSION:
        text = _describe_conversion(old or {}, new or {})
    elif field == EVENTS:
        text = _describe_events(old or [], new or [])
    else:
        text = f"{FIELD_LABELS.get(field, field)} {_value(field, old)} → {_value(field, new)}"
    return f"Undo of edit {undoes}: {text}" if undoes is not None else text


def _value(field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field == "blocks":
        return ", ".join(
            f"{b['side']} {LANDMARK_LABELS.get(b['landmark'], b['landmark'])}"
            + (f" {b['angle_deg']:g}°" if b.get("angle_deg") is not None else "")
            + (f" ({b['channel']})" if b.get("channel") else "") for b in value) or "none"
    if field == "body_weight_kg":
        return f"{value:g} kg"
    if field == "note":
        return f"“{value}”" if len(str(value)) <= 60 else f"“{str(value)[:57]}…”"
    return str(value)


def _describe_conversion(old: dict[str, Any], new: dict[str, Any]) -> str:
    before, after = zero_segments(old), zero_segments(new)
    parts = [_segment(s) for s in after if s not in before]
    parts += [f"{_segment(s)} taken out" for s in before if s not in after]
    if old.get("calibration") != new.get("calibration"):
        parts.append(f"Calibration changed ({_calibrations(old)} → {_calibrations(new)})")
    if old.get(REGIONS_KEY) != new.get(REGIONS_KEY):
        regions = new.get(REGIONS_KEY)
        parts.append("Block regions set by hand: " + ", ".join(
            f"{r['name']} rows {r['r0']}–{r['r1'] - 1}, columns {r['c0']}–{r['c1'] - 1}"
            for r in regions) if regions else "Block regions found on the data again")
    return "; ".join(parts) or "Conversion rewritten, no change"


def _events(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{e['kind']} at {e['time_s']:.2f} s" for e in rows) or "none"


def _describe_events(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    if len(old) == len(new) == 1 and old[0]["id"] == new[0]["id"]:
        a, b = old[0], new[0]
        if a["time_s"] != b["time_s"]:
            return f"Event {a['kind']} moved from {a['time_s']:.2f} s to {b['time_s']:.2f} s"
        if "confirmed_utc" in b["data"] and "confirmed_utc" not in a["data"]:
            return f"Event {a['kind']} at {a['time_s']:.2f} s confirmed"
        return f"Event {a['kind']} at {a['time_s']:.2f} s changed"
    if not new:
        return f"Events taken out: {_events(old)}"
    if not old:
        return f"Events put in: {_events(new)}"
    return f"Events {_events(old)} replaced by {_events(new)}"


def _segment(segment: dict[str, Any]) -> str:
    at = segment.get("from_s")
    offsets = ", ".join(f"{k} {shown(v, 'raw')}" for k, v in (segment.get("offsets") or {}).items())
    return (f"Tare from {'the start' if at is None else f'{at:.2f} s'} ({offsets} raw)"
            + (", taken anyway" if segment.get("forced") else ""))


def _calibrations(conversion: dict[str, Any]) -> str:
    channels = ((conversion.get("calibration") or {}).get("channels") or {})
    ids = [f"{name}: {spec.get('id')}" for name, spec in channels.items()]
    return f"calibration {', '.join(ids)}" if ids else "the profile's scale"
