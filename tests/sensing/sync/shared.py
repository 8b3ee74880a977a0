"""Reading both sides of a sync: what a station's SQLite store holds, and what PostgreSQL got."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from sensing.store.pg.schema import STATION_COLUMNS

# Each table's rows of one session, in a fixed order, as compared on both sides.
ORDER = {"chunks": "first_index", "raw": "chunk_index", "events": "id", "session_edits": "id"}


def local_rows(store: Path, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def pg_rows(url: str, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, args).fetchall()


def uuids(url: str) -> list[str]:
    """Every session uuid in the shared store, once per row (duplicates would show)."""
    return sorted(r["uuid"] for r in pg_rows(url, "SELECT uuid FROM sessions"))


def plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def assert_same_session(store: Path, url: str, station: str, uuid: str) -> int:
    """The session ``uuid`` of ``store`` is in PostgreSQL column for column, byte for byte
    (samples, raw capture, events, edits); the blob bytes compared."""
    here = local_rows(store, "SELECT * FROM sessions WHERE uuid = ?", (uuid,))[0]
    there = pg_rows(url, "SELECT * FROM sessions WHERE uuid = %s", (uuid,))
    assert len(there) == 1
    got = there[0]
    assert (got["station"], got["station_id"]) == (station, here["id"])
    for col in here.keys():  # noqa: SIM118 (a sqlite3.Row iterates its values)
        if col != "id" and not (col in ("frame_count", "duration_s") and here[col] is None):
            assert got[col] == here[col], col
    compared = 0
    for table, order in ORDER.items():
        mine = local_rows(store, f"SELECT * FROM {table} WHERE session_id = ? ORDER BY {order}",
                          (here["id"],))
        theirs = pg_rows(url, f"SELECT * FROM {table} WHERE session_id = %s ORDER BY "
                              f"{'station_id' if order == 'id' else order}", (got["id"],))
        assert len(mine) == len(theirs), table
        for a, b in zip(mine, theirs, strict=True):
            skip = {"id", "session_id", "undoes"} | STATION_COLUMNS.get(table, set())
            for col in a.keys():  # noqa: SIM118
                if col not in skip:
                    assert plain(b[col]) == a[col], f"{table}.{col}"
                    compared += len(a[col]) if isinstance(a[col], bytes) else 0
            if "station_id" in b:
                assert b["station_id"] == a["id"]
    return compared
