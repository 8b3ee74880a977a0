"""A mat session's derived data in the store (``sensing.mat.derive``): written once, read by all.

It is derived when the session closes (``Recorder``, so recording, the dashboard and import
alike), and for a session an older sotlog closed, the first time it is read. It is kept with the
conversion dict and frame count it was derived for: a read finds it current only while both are
the same, so an edit of the regions, tare or calibration (and its undo) never reads stale values;
``Store`` derives it again right after every such edit (docs/mats.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np

from sensing.mat.derive import DERIVED_VERSION, MatDerived
from sensing.mat.regions import Region
from sensing.plainjson import dumps
from sensing.store import codec as store_codec
from sensing.store.records import SessionInfo
from sensing.store.schema import insert

Query = Callable[[str, tuple[Any, ...]], list[sqlite3.Row]]
HEADER = "SELECT * FROM mat_derived WHERE session_id = ?"


def is_current(row: sqlite3.Row | None, info: SessionInfo) -> bool:
    """Whether a ``mat_derived`` row was derived for the session as it is now."""
    return (row is not None and row["version"] == DERIVED_VERSION
            and row["frame_count"] == info.n_frames
            and json.loads(row["conversion_json"]) == info.conversion)


def regions_of(row: sqlite3.Row) -> tuple[list[Region], str]:
    """A ``mat_derived`` row's regions and where they came from."""
    return [Region.from_dict(r) for r in json.loads(row["regions_json"])], row["regions_from"]


def read_derived(query: Query, info: SessionInfo) -> MatDerived | None:
    """The session's derived data when it is current, else None."""
    rows = query(HEADER, (info.id,))
    if not rows or not is_current(rows[0], info):
        return None
    regions, regions_from = regions_of(rows[0])
    columns = {
        r["name"]: store_codec.decode(r["codec"], r["data"], r["dtype"],
                                      tuple(json.loads(r["shape_json"])))
        for r in query("SELECT * FROM mat_derived_columns WHERE session_id = ?", (info.id,))}
    return MatDerived.from_columns(regions, regions_from, columns)


def keep_derived(conn: sqlite3.Connection, info: SessionInfo, derived: MatDerived,
                 made_utc: str) -> None:
    """Replace the session's derived data with ``derived`` (inside the caller's transaction)."""
    sid = info.id
    conn.execute("DELETE FROM mat_derived_columns WHERE session_id = ?", (sid,))
    conn.execute("DELETE FROM mat_derived WHERE session_id = ?", (sid,))
    insert(conn, "mat_derived", {
        "session_id": sid, "version": DERIVED_VERSION, "conversion_json": dumps(info.conversion),
        "frame_count": info.n_frames, "made_utc": made_utc,
        "regions_json": dumps([r.as_dict() for r in derived.regions]),
        "regions_from": derived.regions_from})
    for name, values in derived.columns().items():
        a = np.ascontiguousarray(values)
        codec, blob = store_codec.encode(a)
        insert(conn, "mat_derived_columns", {
            "session_id": sid, "name": name, "codec": codec, "dtype": a.dtype.str,
            "shape_json": json.dumps(list(a.shape)), "data": blob})
