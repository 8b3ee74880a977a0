"""Rows from a station's SQLite store into PostgreSQL: columns matched by name, blobs by COPY.

The columns copied are the SQLite table's own, read from the file, so a column SQLite has and
PostgreSQL lacks stops the copy with one line rather than being dropped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from firmware_bridge.errors import StoreError
from sensing.store.pg.schema import columns

TABLES = ("sessions", "session_edits", "events", "chunks", "raw", "calibrations")
# Copied through COPY ... (FORMAT BINARY): many rows, or large blobs, per session.
BULK = ("events", "chunks", "raw")


class Tables:
    """The columns of each table on both sides, checked to fit, and the PostgreSQL types."""

    def __init__(self, local: sqlite3.Connection, pg: Any, shown: str) -> None:
        self.local: dict[str, list[str]] = {}
        self.types: dict[str, dict[str, str]] = {}
        missing = []
        for table in TABLES:
            here = [r[1] for r in local.execute(f"PRAGMA table_info({table})").fetchall()]
            there = columns(pg, table)
            missing += [f"{table}.{c}" for c in here if c not in there]
            self.local[table] = here
            self.types[table] = there
        if missing:
            raise StoreError(f"this station's store has columns the shared store at {shown} "
                             f"lacks ({', '.join(missing)}): run a sotlog that knows them "
                             "against it once; nothing was copied")

    def copied(self, table: str) -> list[str]:
        """The SQLite columns copied as they are (ids and links to other rows are remapped)."""
        return [c for c in self.local[table] if c not in ("id", "session_id")]


def insert_returning(cur: Any, table: str, row: dict[str, Any], unique: str = "") -> int | None:
    """INSERT one row; its new id, or None where a row with the same ``unique`` column was
    there already (any other clash is an error)."""
    cols = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    clash = f" ON CONFLICT ({unique}) DO NOTHING" if unique else ""
    cur.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks}){clash} RETURNING id",
                list(row.values()))
    found = cur.fetchone()
    return None if found is None else int(found[0])


def copy_rows(cur: Any, table: str, cols: Sequence[str], types: dict[str, str],
              rows: Iterable[Sequence[Any]]) -> tuple[int, int]:
    """COPY ``rows`` (values in ``cols`` order) into ``table``; how many rows and blob bytes."""
    n = nbytes = 0
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([types[c] for c in cols])
        for row in rows:
            copy.write_row(row)
            n += 1
            nbytes += sum(len(v) for v in row if isinstance(v, bytes))
    return n, nbytes


def session_rows(local: sqlite3.Connection, table: str, cols: Sequence[str], session_id: int,
                 new_id: int, order: str, after: int = 0) -> Iterable[list[Any]]:
    """A session's rows of ``table``, ``session_id`` replaced by ``new_id``, streamed."""
    keep_id = "station_id" in cols  # the row's id on the station
    names = [c for c in cols if c not in ("session_id", "station_id")]
    select = ", ".join((["id"] if keep_id else []) + names)
    where = " AND id > ?" if keep_id else ""
    args = (session_id, after) if keep_id else (session_id,)
    for r in local.execute(f"SELECT {select} FROM {table} WHERE session_id = ?{where} "
                           f"ORDER BY {order}", args):
        values = dict(zip(["station_id"] * keep_id + names, r, strict=True))
        values["session_id"] = new_id
        yield [values[c] for c in cols]
