"""The session store file: opening it (checks, migrations, sessions left recording by a process
that is gone), its connections, and the list of its sessions.

Light to import (no numpy, no pydantic), so ``sotlog sessions`` starts quickly; reading, making
and changing sessions is ``sensing.store.sessions.Store``, a StoreFile.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Self, cast

from firmware_bridge.errors import StoreError
from sensing.plainjson import dumps
from sensing.store import owner as store_owner
from sensing.store.config import configured, sqlite_path
from sensing.store.listing import (
    COUNTS,
    KEEP_COUNTS,
    KEEP_VISIT,
    Filters,
    Listed,
    Page,
    page,
    prepare_connection,
    total,
)
from sensing.store.schema import (
    app_id_unreadable,
    check_file,
    connect,
    damaged,
    prepare,
    read_only_file,
)
from sensing.store.url import POSTGRESQL, StoreURL
from sensing.vocabulary import SESSIONS_PAGE


def utc_now() -> str:
    """Now as ISO 8601 UTC with milliseconds, the form every ``*_utc`` column holds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def default_path() -> Path:
    """``$SOTLOG_STORE``, else ``sessions.sqlite3`` in the user data directory (sensing.store.url
    reads either)."""
    return sqlite_path()


# Why nothing records into a shared store (docs/multi-station.md): its ``read_only``.
SHARED_READ_ONLY = "it is the shared store: sessions are recorded on a station, then synced"


class StoreFile:
    """A session store file: opened, checked, brought up to date, and its sessions listed.

    ``Store`` (sensing.store.sessions) adds reading, making and changing sessions. A shared
    PostgreSQL store (``postgresql://…``) is read and edited through the same code
    (sensing.store.pg.adapter), and records nothing.
    """

    def __init__(self, path: Path | StoreURL, max_bytes: int | None = None,
                 read_only: str | None = None) -> None:
        self.path = path  # the file; a shared store's StoreURL (shown without its password)
        self.url = path.url if isinstance(path, StoreURL) else ""  # a shared store's URL
        self.max_bytes = max_bytes
        self.read_only = read_only  # why the store can only be read, or None
        self.found_interrupted: list[int] = []  # marked interrupted when this Store opened
        self.counts_not_kept = ""  # why a list could not keep the counts it took, if so
        self.derived_not_kept = ""  # why a mat session's derived data could not be kept, if so
        self.pool: Any = None  # a shared store's kept connections (keep_connections), if any

    @classmethod
    def open(cls, path: str | Path | None = None, *, max_bytes: int | None = None,
             write: bool = True) -> Self:
        """Open (or create) the store; ``max_bytes`` caps the file size, as a full disk would.

        ``write=False`` (and a file, folder or mount that cannot be written) opens it for
        reading only: no schema updates, no interrupted-marking, every write refused. A
        ``postgresql://`` URL opens the shared store: read, edited where the role may, never
        recorded into.
        """
        where = configured(path)
        if where.backend == POSTGRESQL:
            return cls._open_shared(where)
        p = sqlite_path(where.path)
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

    @classmethod
    def _open_shared(cls, where: StoreURL) -> Self:
        """The shared store at ``where``, its schema brought up to date (a role that may)."""
        from sensing.store.pg.schema import connect as pg_connect
        from sensing.store.pg.schema import prepare as pg_prepare

        conn = pg_connect(where.url, autocommit=True)
        try:
            pg_prepare(conn, where.url)
        finally:
            conn.close()
        return cls(where, None, SHARED_READ_ONLY)

    @property
    def keeps_derived(self) -> bool:
        """Whether what is worked out from a session's samples (a mat's derived data, a visit)
        is kept: in a store that can be written, and in a shared store until its role is
        refused (docs/multi-station.md)."""
        return not self.read_only or (bool(self.url) and not self.derived_not_kept)

    @property
    def immutable(self) -> bool:
        """Read-only where SQLite could not even lock it: read the file as it is."""
        return self.read_only in ("its folder is read-only", "it is on a read-only mount")

    def keep_connections(self) -> None:
        """Keep a shared store's connections open between reads, for a face that serves many
        (``serve``); ``close`` closes them. A SQLite store opens a file: nothing to keep."""
        if self.url and self.pool is None:
            from sensing.store.pg.pool import SharedPool

            self.pool = SharedPool(self.url)

    def close(self) -> None:
        """Close the connections kept (keep_connections); the store opens new ones after."""
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.close()

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection (rows as ``sqlite3.Row``); the caller closes it. On a
        shared store, one that takes the same statements and gives the same rows."""
        if self.pool is not None:
            return cast(sqlite3.Connection, self.pool.connect())
        if self.url:
            from sensing.store.pg.adapter import connect as pg_connect

            return cast(sqlite3.Connection, pg_connect(self.url))
        assert isinstance(self.path, Path)
        return connect(self.path, readonly=True, immutable=self.immutable)

    def write_connection(self, *, shared_ok: bool = False) -> sqlite3.Connection:
        """A new write connection in autocommit mode (use BEGIN/COMMIT); the caller closes it.

        ``shared_ok``: a write a shared store takes too, where its role may (an edit of a
        session, what is worked out from one: docs/multi-station.md); it records nothing.
        """
        if self.url and shared_ok and self.pool is not None:
            return cast(sqlite3.Connection, self.pool.connect(readonly=False))
        if self.url and shared_ok:
            from sensing.store.pg.adapter import connect as pg_connect

            return cast(sqlite3.Connection, pg_connect(self.url, readonly=False))
        if self.url:
            raise StoreError(f"{self.path} is the shared store: sessions are recorded on a "
                             "station, into its own store, and `sotlog sync` copies them here; "
                             "here they are read and edited")
        if self.read_only:
            raise StoreError(f"{self.path} can only be read ({self.read_only}): sotlog shows and "
                             "exports its sessions but cannot record into it or change them")
        assert isinstance(self.path, Path)  # a shared store answered above
        conn = connect(self.path)
        if self.max_bytes is not None:
            try:
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page)}")
            except sqlite3.DatabaseError as err:
                conn.close()
                if app_id_unreadable(err):
                    raise StoreError(f"{self.path} is not a sotlog session store ({err})") from err
                raise damaged(self.path, err) from err
        return conn

    @contextmanager
    def _writing(self, shared_ok: bool = False) -> Iterator[sqlite3.Connection]:
        conn = self.write_connection(shared_ok=shared_ok)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self, shared_ok: bool = False) -> Iterator[sqlite3.Connection]:
        with self._writing(shared_ok) as conn:
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
                counts = _counts(conn, sid)
                if counts is not None:  # else counted (and found damaged) when a list needs it
                    conn.execute(KEEP_COUNTS, (*counts, sid))
                conn.execute(
                    "INSERT INTO events (session_id, host_time, kind, text, data_json, "
                    "created_utc, source) VALUES (?, (SELECT t0_host FROM sessions WHERE id = ?) + "
                    "coalesce((SELECT max(t_last) FROM chunks WHERE session_id = ?), 0), "
                    "'warning', ?, ?, ?, 'sotlog')",
                    (sid, sid, sid, f"{reason}; marked interrupted, stored samples kept",
                     json.dumps({"pid": r["pid"], "hostname": r["hostname"],  # plain already
                                 "detected_by_pid": this.pid}, separators=(",", ":")), now))
        return gone

    def sessions(self, subject: str | None = None, since: str | date | datetime | None = None,
                 until: str | date | datetime | None = None, category: str | None = None,
                 position: str | None = None, status: str | None = None, *,
                 subject_part: str | None = None, limit: int | None = None,
                 offset: int = 0) -> list[Listed]:
        """What a list shows of the sessions that match every filter given (see ``Filters``),
        newest first: ``limit`` of them (None: all) after the first ``offset``."""
        filters = Filters(subject, subject_part, since, until, category, position, status)
        return self.page(filters, limit, offset, count=False).sessions

    def page(self, filters: Filters | None = None, limit: int | None = SESSIONS_PAGE,
             offset: int = 0, *, count: bool = True) -> Page:
        """One page of the sessions matching ``filters``, newest first, and (``count``) how many
        match in all, read in one transaction. Only the ``sessions`` table is read, and the
        chunks of a session on the page whose counts are not stored yet."""
        filters = filters or Filters()
        conn = self.connect()
        try:
            prepare_connection(conn)
            try:
                conn.execute("BEGIN")  # the page and the total from one snapshot
                found, counted = page(conn, filters, limit, offset, station=bool(self.url))
                matching = total(conn, filters) if count else len(found) + offset
                conn.execute("COMMIT")
            except sqlite3.OperationalError as err:
                raise StoreError(f"cannot read sessions from {self.path}: {err}") from err
            except sqlite3.DatabaseError as err:
                raise damaged(self.path, err, "the session list") from err
        finally:
            conn.close()
        if counted and not self.read_only:
            self._keep_counts(counted)
        return Page(found, matching, offset)

    def keep_visit(self, session_id: int, visit: dict[str, Any]) -> None:
        """Keep what a visit list shows of an ended session (``sensing.metrics.visits``)."""
        try:
            with self._transaction(shared_ok=True) as conn:
                conn.execute(KEEP_VISIT, (dumps(visit), session_id))
        except StoreError as err:
            if not self.url:
                raise
            self.derived_not_kept = str(err)  # the role may not: worked out on each list

    def _keep_counts(self, counted: dict[int, tuple[int, float]]) -> None:
        """Store the counts a list took from the chunks of ended sessions, so it does it once."""
        try:
            with self._transaction() as conn:
                conn.executemany(KEEP_COUNTS, [(*c, sid) for sid, c in counted.items()])
        except StoreError as err:  # a busy or full store: the next list counts them again
            self.counts_not_kept = str(err)


def _counts(conn: sqlite3.Connection, session_id: int) -> tuple[int, float] | None:
    """A session's frame count and last frame time from its chunks; None where those are
    damaged."""
    try:
        n, last = conn.execute(COUNTS, (session_id,)).fetchone()
    except sqlite3.DatabaseError as err:
        if isinstance(err, sqlite3.OperationalError):
            raise
        return None
    return int(n), float(last)
