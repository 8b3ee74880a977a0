"""What a store can still give back: SQLite's own integrity check, then every session read part
by part (header, events, each chunk of samples, each raw row), so damage is found where it is
and one damaged session never hides the others. ``sotlog check`` prints it."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from firmware_bridge.errors import StoreError
from sensing.store import codec
from sensing.store.framerefs import frame_times, session_query
from sensing.store.read import INFO_SELECT, info_from_row
from sensing.store.sessions import Store

MAX_INTEGRITY_LINES = 20  # SQLite lists every problem; the first ones say enough


@dataclass
class SessionCheck:
    """One session as far as it reads: what is whole, and each part that is not."""

    id: int
    subject_code: str | None = None
    status: str = ""
    frames: int = 0  # frames in chunks that decode
    chunks: int = 0
    raw_bytes: int = 0  # raw capture bytes in rows that decode
    raw_rows: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def whole(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "whole": self.whole}


@dataclass
class StoreCheck:
    """The integrity check's own lines (``["ok"]`` when SQLite finds nothing) and each session."""

    path: str
    integrity: list[str]
    sessions: list[SessionCheck]
    problems: list[str] = field(default_factory=list)  # what stopped the check itself

    @property
    def whole(self) -> bool:
        return self.integrity == ["ok"] and not self.problems and all(s.whole
                                                                     for s in self.sessions)


def check_store(store: Store) -> StoreCheck:
    """Read everything the store holds, part by part; nothing is written."""
    if store.url:
        raise StoreError(f"{store.path} is the shared store: `sotlog check` reads a station's "
                         "SQLite file page by page; PostgreSQL checks its own (pg_amcheck)")
    conn = store.connect()
    try:
        result = StoreCheck(str(store.path), _integrity(conn), [])
        try:
            ids = [r[0] for r in conn.execute("SELECT id FROM sessions ORDER BY id")]
        except sqlite3.DatabaseError as err:
            result.problems.append(f"the session list cannot be read: {err}")
            return result
        result.sessions = [_check_session(conn, sid) for sid in ids]
        return result
    finally:
        conn.close()


def _integrity(conn: sqlite3.Connection) -> list[str]:
    try:
        rows = conn.execute(f"PRAGMA integrity_check({MAX_INTEGRITY_LINES})").fetchall()
    except sqlite3.DatabaseError as err:
        return [f"the integrity check could not run: {err}"]
    return [str(r[0]) for r in rows]


def _check_session(conn: sqlite3.Connection, sid: int) -> SessionCheck:
    out = SessionCheck(sid)
    try:
        row = _header(conn, sid)
        out.subject_code, out.status = row["subject_code"], row["status"]
        info_from_row(row)
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, StoreError) as err:
        out.problems.append(f"header: {err}")
    try:
        out.events = int(conn.execute("SELECT count(*) FROM events WHERE session_id = ?",
                                      (sid,)).fetchone()[0])
    except sqlite3.DatabaseError as err:
        out.problems.append(f"events: {err}")
    for key, decode in _parts(conn, sid, "chunks", "first_index", out):
        try:
            block = codec.decode_chunk(decode())
            out.frames += len(block)
            out.chunks += 1
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, zlib.error) as err:
            out.problems.append(f"samples from frame {key}: {err}")
    for key, decode in _parts(conn, sid, "raw", "chunk_index", out):
        try:
            reads = codec.decode_raw(decode(), frame_times(session_query(conn), sid))
            out.raw_bytes += sum(len(data) for _, data in reads)
            out.raw_rows += 1
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, zlib.error) as err:
            out.problems.append(f"raw capture row {key}: {err}")
    return out


def _header(conn: sqlite3.Connection, sid: int) -> sqlite3.Row:
    """The session's row as the reader wants it, without the counts when those cannot be read
    (they come from the samples, which are checked one by one below)."""
    try:
        row: sqlite3.Row = conn.execute(INFO_SELECT + " WHERE s.id = ?", (sid,)).fetchone()
    except sqlite3.DatabaseError:
        row = conn.execute("SELECT s.*, 0 AS n_frames, NULL AS t_last_max FROM sessions s "
                           "WHERE s.id = ?", (sid,)).fetchone()
    return row


def _parts(conn: sqlite3.Connection, sid: int, table: str, key: str,
           out: SessionCheck) -> Iterator[tuple[int, Callable[[], sqlite3.Row]]]:
    """Each row's key, and how to read that row: one row in memory at a time."""
    try:
        keys = [r[0] for r in conn.execute(
            f"SELECT {key} FROM {table} WHERE session_id = ? ORDER BY {key}", (sid,))]
    except sqlite3.DatabaseError as err:
        out.problems.append(f"{table}: the list of its rows cannot be read: {err}")
        return
    sql = f"SELECT * FROM {table} WHERE session_id = ? AND {key} = ?"
    for k in keys:
        yield k, partial(_one, conn, sql, (sid, k))


def _one(conn: sqlite3.Connection, sql: str, args: tuple[int, int]) -> sqlite3.Row:
    row: sqlite3.Row = conn.execute(sql, args).fetchone()
    return row
