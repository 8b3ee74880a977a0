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
from sensing.store.listing import meta_dict
from sensing.store.schema import insert
from sensing.vocabulary import LANDMARK_LABELS

CONVERSION = "conversion"


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
    conn.execute("UPDATE sessions SET conversion_json = ? WHERE id = ?", (new, row["id"]))
    return eid


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
    newer = conn.execute("SELECT id FROM session_edits WHERE session_id = ? AND field = ? "
                         "AND id > ? ORDER BY id LIMIT 1", (sid, field, edit_id)).fetchone()
    if newer is not None:
        raise StoreError(f"edit {edit_id} of session {sid} changed {field}, which edit "
                         f"{newer[0]} changed again since: undo that one first")
    reason = f"undo of edit {edit_id}"
    old = json.loads(edit["old_json"])
    if field == CONVERSION:
        return change_conversion(conn, row, old, at_utc, reason, edit_id)
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
    ``Tare from 12.34 s (left 8123.0, right 7990.5 raw)``, ``Undo of edit 5: ...``."""
    text = _describe_conversion(old or {}, new or {}) if field == CONVERSION else (
        f"{FIELD_LABELS.get(field, field)} {_value(field, old)} → {_value(field, new)}")
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


def _segment(segment: dict[str, Any]) -> str:
    at = segment.get("from_s")
    offsets = ", ".join(f"{k} {v:.1f}" for k, v in (segment.get("offsets") or {}).items())
    return (f"Tare from {'the start' if at is None else f'{at:.2f} s'} ({offsets} raw)"
            + (", taken anyway" if segment.get("forced") else ""))


def _calibrations(conversion: dict[str, Any]) -> str:
    channels = ((conversion.get("calibration") or {}).get("channels") or {})
    ids = [f"{name}: {spec.get('id')}" for name, spec in channels.items()]
    return f"calibration {', '.join(ids)}" if ids else "the profile's scale"
