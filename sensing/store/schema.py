"""The session store's SQLite schema as one numbered list of migrations, and its connections.

``MIGRATIONS[k]`` takes a store from schema version ``k`` to ``k + 1``; every table is made
here, the calibrations table included. A new file runs them all; an older store runs the ones it
has not had, in one transaction, when it is opened. The layout is documented in docs/store.md.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote

from firmware_bridge.errors import StoreError

APPLICATION_ID = 0x534F544C  # "SOTL" in PRAGMA application_id marks a file as a sotlog store
# How chunk and raw blobs are encoded, stored with every session: 1, each column by a fixed
# codec; 2, each row names its columns' codecs (``codecs``; sensing/store/codec.py).
FORMAT_VERSION = 2
BUSY_TIMEOUT_MS = 10_000

# Version 0 -> 1: sessions, their edits, events, samples and raw bytes (sotlog 0.1).
_V1 = [
    """CREATE TABLE IF NOT EXISTS sessions (
        id INTEGER PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        subject_code TEXT,
        position TEXT,
        category TEXT,
        short_leg TEXT,
        body_weight_kg REAL,
        note TEXT NOT NULL DEFAULT '',
        blocks_json TEXT NOT NULL DEFAULT '[]',
        profile_name TEXT NOT NULL,
        profile_toml TEXT NOT NULL,
        profile_path TEXT NOT NULL DEFAULT '',
        port TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL DEFAULT '',
        software_version TEXT NOT NULL,
        format_version INTEGER NOT NULL,
        started_utc TEXT NOT NULL,
        ended_utc TEXT,
        t0_host REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted')),
        counters_json TEXT NOT NULL DEFAULT '{}',
        conversion_json TEXT NOT NULL DEFAULT '{}',
        frame_shape_json TEXT NOT NULL,
        dtype TEXT,
        channel_names_json TEXT NOT NULL DEFAULT '[]',
        pid INTEGER,
        hostname TEXT,
        proc_token TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_utc)",
    "CREATE INDEX IF NOT EXISTS sessions_subject ON sessions (subject_code, started_utc)",
    """CREATE TABLE IF NOT EXISTS session_edits (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        at_utc TEXT NOT NULL,
        field TEXT NOT NULL,
        old_json TEXT,
        new_json TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS session_edits_session ON session_edits (session_id, id)",
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        host_time REAL NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        data_json TEXT NOT NULL DEFAULT '{}',
        created_utc TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('person', 'device', 'sotlog'))
    )""",
    "CREATE INDEX IF NOT EXISTS events_session ON events (session_id, host_time)",
    # Scalar columns first: a time-window query reads them without touching the blobs.
    """CREATE TABLE IF NOT EXISTS chunks (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        first_index INTEGER NOT NULL,
        count INTEGER NOT NULL,
        t_first REAL NOT NULL,
        t_last REAL NOT NULL,
        dtype TEXT NOT NULL,
        shape_json TEXT NOT NULL,
        codec TEXT NOT NULL,
        vals BLOB NOT NULL,
        host_time BLOB NOT NULL,
        device_time BLOB NOT NULL,
        seq BLOB NOT NULL,
        flags BLOB NOT NULL,
        PRIMARY KEY (session_id, first_index)
    )""",
    "CREATE INDEX IF NOT EXISTS chunks_time ON chunks (session_id, t_first)",
    "CREATE INDEX IF NOT EXISTS chunks_time_last ON chunks (session_id, t_last)",
    """CREATE TABLE IF NOT EXISTS raw (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        chunk_index INTEGER NOT NULL,
        t_first REAL NOT NULL,
        t_last REAL NOT NULL,
        reads INTEGER NOT NULL,
        nbytes INTEGER NOT NULL,
        data BLOB NOT NULL,
        arrival BLOB NOT NULL,
        offsets BLOB NOT NULL,
        PRIMARY KEY (session_id, chunk_index)
    )""",
]

# Version 1 -> 2: the calibrations table (sotlog 0.1 made it on first use, so it may be there),
# why a session ended and which face recorded it, undo links and reasons in the edit log, and
# the raw capture's prelude.
_V2 = [
    """CREATE TABLE IF NOT EXISTS calibrations (
        id INTEGER PRIMARY KEY,
        batch INTEGER,
        created_utc TEXT NOT NULL,
        kind TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        channel TEXT NOT NULL,
        port TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL,
        fit TEXT NOT NULL DEFAULT '',
        by TEXT NOT NULL DEFAULT '',
        record_json TEXT NOT NULL,
        gains BLOB
    )""",
    "CREATE INDEX IF NOT EXISTS calibrations_match "
    "ON calibrations (profile_name, channel, kind, created_utc)",
    "ALTER TABLE sessions ADD COLUMN end_reason TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sessions ADD COLUMN face TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE session_edits ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE session_edits ADD COLUMN undoes INTEGER REFERENCES session_edits (id)",
    # 1 for the reads a device's decoder had before the session (see RawHistory): decoding
    # context, not the session's own bytes.
    "ALTER TABLE raw ADD COLUMN prelude INTEGER NOT NULL DEFAULT 0",
]

# Version 2 -> 3: what a list shows about a session's samples, stored when it ends (NULL until
# then, and for a session an older sotlog ended: counted from its chunks when a list first
# needs it, then kept), so a list never reads the samples; and the sessions still recording,
# which every open looks for, found without reading every session's row.
_V3 = [
    "ALTER TABLE sessions ADD COLUMN frame_count INTEGER",
    "ALTER TABLE sessions ADD COLUMN duration_s REAL",
    "CREATE INDEX IF NOT EXISTS sessions_recording ON sessions (id) WHERE status = 'recording'",
]

# Version 3 -> 4: what a mat session keeps of its frames (sensing.mat.derive): its regions, and
# per-frame block sums and measures, one blob each, derived for the session's conversion and
# frame count (derived again when either changes; see sensing/store/derived.py).
_V4 = [
    """CREATE TABLE IF NOT EXISTS mat_derived (
        session_id INTEGER PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        conversion_json TEXT NOT NULL,
        frame_count INTEGER NOT NULL,
        made_utc TEXT NOT NULL,
        regions_json TEXT NOT NULL,
        regions_from TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS mat_derived_columns (
        session_id INTEGER NOT NULL REFERENCES mat_derived (session_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        codec TEXT NOT NULL,
        dtype TEXT NOT NULL,
        shape_json TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (session_id, name)
    )""",
]

# Version 4 -> 5: what a subject's visit list shows of a session (time on the blocks, mean force
# and share per block), worked out from its samples when it ends and kept, so the list reads
# SQL only; NULL until then, and again after an edit changes the force it reads.
_V5 = [
    "ALTER TABLE sessions ADD COLUMN visit_json TEXT",
]

# Version 5 -> 6: each chunk and raw row names the codec of each of its blob columns, as JSON
# (``{"host_time": "micro-delta-zstd", ...}``); '' for a row written before, whose columns have
# format 1's codecs.
_V6 = [
    "ALTER TABLE chunks ADD COLUMN codecs TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE raw ADD COLUMN codecs TEXT NOT NULL DEFAULT ''",
]

MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6]
SCHEMA_VERSION = len(MIGRATIONS)  # PRAGMA user_version


def damaged(path: object, err: BaseException, what: str = "") -> StoreError:
    """The one line for a store SQLite finds damaged, and what a person can do about it."""
    where = f"{what} in " if what else ""
    return StoreError(f"{where}{path} is damaged ({err}): `sotlog check` says what can still be "
                      f"read; `sqlite3 {path} .recover > saved.sql` may save the rest")


def read_only_file(path: Path) -> str | None:
    """Why ``path`` can only be read (a read-only file or folder, a read-only mount), or None.

    A file or folder whose mode has no write bit at all is read-only even for root: someone
    marked it so, and sotlog keeps to that.
    """
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return "it is on a read-only mount"
    except (OSError, AttributeError):  # no statvfs on Windows
        pass
    if not os.access(path.parent, os.W_OK) or not _writable_mode(path.parent):
        return "its folder is read-only"
    if path.exists() and (not os.access(path, os.W_OK) or not _writable_mode(path)):
        return "the file is read-only"
    return None


def _writable_mode(path: Path) -> bool:
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o222)


def connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """A connection with sotlog's pragmas; ``readonly`` ones refuse every write.

    ``immutable``: the file cannot change under us (a read-only folder or mount, where SQLite
    could not make the files it locks with); it is read as it is.
    """
    try:
        target = f"file:{quote(str(path))}?mode=ro{'&immutable=1' if immutable else ''}"
        conn = sqlite3.connect(target if readonly else str(path), uri=readonly,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               isolation_level=None)
    except sqlite3.Error as err:
        raise StoreError(f"cannot open session store {path}: {err}") from err
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as err:
        conn.close()
        if isinstance(err, sqlite3.OperationalError):
            raise StoreError(f"cannot open session store {path}: {err}") from err
        if app_id_unreadable(err):
            raise StoreError(f"{path} is not a sotlog session store ({err})") from err
        raise damaged(path, err) from err  # e.g. "malformed database schema": a damaged page
    conn.text_factory = _text
    conn.row_factory = sqlite3.Row
    return conn


def _text(data: bytes) -> str:
    """Text columns as text; bytes that are not UTF-8 (a damaged page) show as U+FFFD."""
    return data.decode("utf-8", errors="replace")


def check_file(conn: sqlite3.Connection, path: Path, *, writable: bool = True) -> int:
    """The store's schema version, once the file is known to be a sotlog store sotlog can read
    (or an empty file, when it may be written)."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.OperationalError as err:
        raise StoreError(f"cannot read session store {path}: {err}") from err
    except sqlite3.DatabaseError as err:
        if app_id_unreadable(err):
            raise StoreError(f"{path} is not a sotlog session store ({err})") from err
        raise damaged(path, err) from err
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        raise StoreError(f"{path} is an SQLite file but not a sotlog session store")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer sotlog (store version {version}, "
            f"this sotlog reads up to {SCHEMA_VERSION})"
        )
    if not writable and app_id == 0:
        raise StoreError(f"{path} is empty and read-only: there is no session store to read")
    if not writable and version < SCHEMA_VERSION:
        raise StoreError(f"{path} was written by an older sotlog (store version {version}) and "
                         "is read-only: open it once where it can be written, to update it")
    return int(version)


def app_id_unreadable(err: BaseException) -> bool:
    """SQLite's words for a file that is not a database at all."""
    return "not a database" in str(err) or "file is encrypted" in str(err)


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Check the file is a sotlog store (or empty), create or migrate the schema, enable WAL."""
    version = check_file(conn, path)
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    try:
        if (app_id, version) == (APPLICATION_ID, SCHEMA_VERSION) and conn.execute(
                "PRAGMA journal_mode").fetchone()[0] == "wal":
            return  # up to date: opening takes no write lock (a recording may hold it)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        if app_id == 0:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for step in MIGRATIONS[version:]:
            for sql in step:
                conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except sqlite3.OperationalError as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(f"cannot prepare session store {path}: {err}") from err
    except sqlite3.DatabaseError as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise damaged(path, err) from err


def insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    """``INSERT`` one row given as ``{column: value}``; its rowid."""
    cols = ", ".join(row)
    marks = ", ".join(f":{k}" for k in row)
    cur = conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", row)
    return int(cur.lastrowid or 0)
