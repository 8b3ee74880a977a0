"""The session store: one SQLite file in WAL mode holding every session, its samples, events and
raw bytes. Reads use their own connections; a recording writes through one Recorder thread.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from firmware_bridge import __version__
from firmware_bridge.errors import MetadataError, ProfileError, StoreError
from firmware_bridge.profiles import Profile
from sensing.mat.blocks import REGIONS_KEY
from sensing.mat.regions import Region, check_regions
from sensing.metadata import SessionMeta
from sensing.plainjson import dumps
from sensing.store import owner as store_owner
from sensing.store.edits import (
    change_conversion,
    change_meta,
    latest_undoable,
    meta_columns,
    session_row,
    undo,
)
from sensing.store.read import INFO_SELECT, Session, SessionInfo, info_from_row
from sensing.store.schema import (
    FORMAT_VERSION,
    check_file,
    connect,
    damaged,
    insert,
    prepare,
    read_only_file,
)
from sensing.vocabulary import EVENT_KINDS, EVENT_SOURCES

ENV_VAR = "SOTLOG_STORE"


def utc_now() -> str:
    """Now as ISO 8601 UTC with milliseconds, the form every ``*_utc`` column holds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _utc_bound(value: str | date | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def default_path() -> Path:
    """``$SOTLOG_STORE``, else ``sessions.sqlite3`` in the user data directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("sotlog")) / "sessions.sqlite3"


class Store:
    """A session store file. Open with ``Store.open(path)``."""

    def __init__(self, path: Path, max_bytes: int | None = None,
                 read_only: str | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.read_only = read_only  # why the store can only be read, or None
        self.found_interrupted: list[int] = []  # marked interrupted when this Store opened

    @classmethod
    def open(cls, path: str | Path | None = None, *, max_bytes: int | None = None,
             write: bool = True) -> Store:
        """Open (or create) the store; ``max_bytes`` caps the file size, as a full disk would.

        ``write=False`` (and a file, folder or mount that cannot be written) opens it for
        reading only: no schema updates, no interrupted-marking, every write refused.
        """
        p = Path(path).expanduser() if path is not None else default_path()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create folder {p.parent}: {err.strerror}") from err
        if p.is_dir():
            raise StoreError(f"session store {p} is a folder, not a file")
        read_only = read_only_file(p)
        if read_only and not p.exists():
            raise StoreError(f"cannot make a session store at {p}: {read_only}")
        if not write and not read_only:
            if not p.exists():
                raise StoreError(f"there is no session store at {p}")
            read_only = "opened for reading"
        store = cls(p, max_bytes, read_only)
        if read_only:  # read it as it is: no schema writes, no interrupted-marking
            conn = store.connect()
            try:
                check_file(conn, p, writable=False)
            finally:
                conn.close()
            return store
        with store._writing() as conn:
            prepare(conn, p)
        store.mark_interrupted()
        return store

    @property
    def immutable(self) -> bool:
        """Read-only where SQLite could not even lock it: read the file as it is."""
        return self.read_only in ("its folder is read-only", "it is on a read-only mount")

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection (rows as ``sqlite3.Row``); the caller closes it."""
        return connect(self.path, readonly=True, immutable=self.immutable)

    def write_connection(self) -> sqlite3.Connection:
        """A new write connection in autocommit mode (use BEGIN/COMMIT); the caller closes it."""
        if self.read_only:
            raise StoreError(f"{self.path} can only be read ({self.read_only}): sotlog shows and "
                             "exports its sessions but cannot record into it or change them")
        conn = connect(self.path)
        if self.max_bytes is not None:
            try:
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page)}")
            except sqlite3.DatabaseError as err:
                conn.close()
                raise StoreError(f"{self.path} is not a sotlog session store ({err})") from err
        return conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        conn = self.write_connection()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._writing() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if not isinstance(err, sqlite3.OperationalError | sqlite3.IntegrityError):
                    raise damaged(self.path, err) from err
                raise StoreError(f"cannot write to session store {self.path}: {err}") from err
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def create_session(self, meta: SessionMeta, profile: Profile, *, port: str = "",
                       device: str = "", t0_host: float | None = None,
                       started_utc: str | None = None,
                       conversion: dict[str, Any] | None = None, uuid: str | None = None,
                       face: str = "") -> int:
        """A new session, status ``recording``, owned by this process; returns its id.

        ``face`` says what recorded it (``record``, ``dashboard``, ``import``).
        """
        if not profile.source:
            raise StoreError(f"profile {profile.name!r} has no TOML text to store with the session")
        owner = store_owner.current()
        row = {
            **meta_columns(meta), "uuid": uuid or str(uuid4()), "profile_name": profile.name,
            "profile_toml": profile.source, "profile_path": profile.path, "port": port,
            "device": device, "software_version": __version__, "format_version": FORMAT_VERSION,
            "started_utc": started_utc or utc_now(),
            "t0_host": time.monotonic() if t0_host is None else float(t0_host),
            "status": "recording", "conversion_json": dumps(conversion or {}),
            "frame_shape_json": dumps(list(profile.frame_shape)),
            "dtype": profile.matrix.dtype if profile.matrix is not None else None,
            "channel_names_json": dumps(profile.channel_names),
            "pid": owner.pid, "hostname": owner.hostname, "proc_token": owner.token,
            "face": face,
        }
        with self._transaction() as conn:
            return insert(conn, "sessions", row)

    def mark_interrupted(self) -> list[int]:
        """Sessions left ``recording`` by a process that is gone become ``interrupted``."""
        with self._writing() as conn:
            try:
                rows = conn.execute("SELECT id, pid, hostname, proc_token FROM sessions "
                                    "WHERE status = 'recording'").fetchall()
            except sqlite3.DatabaseError as err:
                raise damaged(self.path, err, "the session list") from err
        gone = [r["id"] for r in rows if r["pid"] is not None and store_owner.is_gone(
            store_owner.Owner(r["pid"], r["hostname"] or "", r["proc_token"]))]
        self.found_interrupted = gone
        if not gone:
            return []
        now, this = utc_now(), store_owner.current()
        with self._transaction() as conn:
            for sid, r in ((r["id"], r) for r in rows if r["id"] in gone):
                reason = (f"the recording process ({r['pid']} on {r['hostname']}) ended without "
                          "closing the session")
                conn.execute("UPDATE sessions SET status = 'interrupted', end_reason = ? "
                             "WHERE id = ? AND status = 'recording'", (reason, sid))
                conn.execute(
                    "INSERT INTO events (session_id, host_time, kind, text, data_json, "
                    "created_utc, source) VALUES (?, (SELECT t0_host FROM sessions WHERE id = ?) + "
                    "coalesce((SELECT max(t_last) FROM chunks WHERE session_id = ?), 0), "
                    "'warning', ?, ?, ?, 'sotlog')",
                    (sid, sid, sid, f"{reason}; marked interrupted, stored samples kept",
                     dumps({"pid": r["pid"], "hostname": r["hostname"],
                              "detected_by_pid": this.pid}), now))
        return gone

    def session(self, session_id: int) -> Session:
        """The read side of one session; a missing id is NotFound (a StoreError)."""
        return Session(self.path, int(session_id), self.immutable)

    def sessions(self, subject: str | None = None, since: str | date | datetime | None = None,
                 until: str | date | datetime | None = None, category: str | None = None,
                 position: str | None = None, status: str | None = None) -> list[SessionInfo]:
        """Headers of the sessions that match every filter given, newest first.

        ``since`` and ``until`` bound the start time (UTC): ``since <= started < until``.
        """
        where, args = [], []
        for column, value in (("subject_code", subject), ("category", category),
                              ("position", position), ("status", status)):
            if value is not None:
                where.append(f"s.{column} = ?")
                args.append(value)
        if since is not None:
            where.append("s.started_utc >= ?")
            args.append(_utc_bound(since))
        if until is not None:
            where.append("s.started_utc < ?")
            args.append(_utc_bound(until))
        filters = (" WHERE " + " AND ".join(where) if where else "")
        order = " ORDER BY s.started_utc DESC, s.id DESC"
        conn = self.connect()
        try:
            try:
                return [info_from_row(r) for r in
                        conn.execute(INFO_SELECT + filters + order, args).fetchall()]
            except sqlite3.DatabaseError as err:
                if isinstance(err, sqlite3.OperationalError):
                    raise StoreError(f"cannot read sessions from {self.path}: {err}") from err
            # Damage somewhere in the samples: list each session on its own, so one damaged
            # session does not hide the others; its header says what is wrong.
            try:
                rows = conn.execute("SELECT s.*, 0 AS n_frames, NULL AS t_last_max FROM sessions s"
                                    + filters + order, args).fetchall()
            except sqlite3.DatabaseError as err:
                raise damaged(self.path, err, "the session list") from err
            return [self._counted(conn, r) for r in rows]
        finally:
            conn.close()

    def _counted(self, conn: sqlite3.Connection, row: sqlite3.Row) -> SessionInfo:
        """A session's header with its frame count, or marked damaged where that cannot be read."""
        info = info_from_row(row)
        try:
            n, last = conn.execute("SELECT coalesce(sum(count), 0), max(t_last) FROM chunks "
                                   "WHERE session_id = ?", (info.id,)).fetchone()
        except sqlite3.DatabaseError as err:
            info.damaged = f"its samples cannot be counted ({err}); see `sotlog check`"
            return info
        info.n_frames, info.duration_s = int(n), float(last or 0.0)
        return info

    def _row(self, conn: sqlite3.Connection, session_id: int) -> sqlite3.Row:
        return session_row(conn, session_id, str(self.path))

    def update_meta(self, session_id: int, changes: dict[str, Any],
                    reason: str = "") -> SessionMeta:
        """Change metadata fields (checked as SessionMeta); every changed field is logged."""
        with self._transaction() as conn:
            return change_meta(conn, self._row(conn, session_id), changes, utc_now(), reason)

    def set_conversion(self, session_id: int, conversion: dict[str, Any],
                       reason: str = "") -> int:
        """Replace the session's conversion dict (tare, calibration); logged. The edit's id."""
        with self._transaction() as conn:
            return change_conversion(conn, self._row(conn, session_id), conversion, utc_now(),
                                     reason)

    def undo_edit(self, session_id: int, edit_id: int | None = None) -> int:
        """Undo one logged edit (default: the newest not yet undone); the new edit's id."""
        with self._transaction() as conn:
            row = self._row(conn, session_id)
            target = latest_undoable(conn, session_id) if edit_id is None else int(edit_id)
            return undo(conn, row, target, utc_now())

    def set_mat_regions(self, session_id: int,
                        regions: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        """Keep person-adjusted block regions (``Region.as_dict()`` items) with a mat session.

        None or ``[]`` removes them, so regions are found on the data again. They are checked
        against the session's mat, kept in its conversion dict and logged like set_conversion.
        """
        with self._transaction() as conn:
            row = self._row(conn, session_id)
            info = info_from_row(conn.execute(INFO_SELECT + " WHERE s.id = ?",
                                              (session_id,)).fetchone())
            if info.profile.matrix is None:
                raise StoreError(f"session {session_id} is not a pressure-mat session: "
                                 "it has no block regions")
            conversion = dict(info.conversion)
            kept = None
            if regions:
                try:
                    checked = check_regions([Region.from_dict(r) for r in regions],
                                            info.profile.matrix)
                except ProfileError as err:
                    raise StoreError(f"session {session_id}: {err}") from err
                kept = [r.as_dict() for r in checked]
                conversion[REGIONS_KEY] = kept
            else:
                conversion.pop(REGIONS_KEY, None)
            change_conversion(conn, row, conversion, utc_now(),
                              "block regions set" if kept else "block regions found on the data")
        return kept

    def add_event(self, session_id: int, kind: str, text: str = "",
                  data: dict[str, Any] | None = None, time_s: float | None = None,
                  source: str = "person") -> int:
        """Add an event to a stored session at ``time_s`` session seconds; returns its id."""
        check_event(kind, source)
        if time_s is None:
            raise StoreError("an event added to a stored session needs its time (time_s)")
        with self._transaction() as conn:
            row = self._row(conn, session_id)
            return insert(conn, "events", {
                "session_id": session_id, "host_time": row["t0_host"] + float(time_s),
                "kind": kind, "text": text, "data_json": dumps(data or {}),
                "created_utc": utc_now(), "source": source})

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def check_event(kind: str, source: str) -> None:
    """An unknown event kind or source is a MetadataError."""
    if kind not in EVENT_KINDS:
        raise MetadataError(f"unknown event kind {kind!r} (known: {', '.join(EVENT_KINDS)})")
    if source not in EVENT_SOURCES:
        raise MetadataError(f"event source must be one of {', '.join(EVENT_SOURCES)}, "
                            f"not {source!r}")
