"""The store a test reads and edits, on each backend: the station's own SQLite store, or the
shared PostgreSQL store its sessions were synced into (docs/multi-station.md).

Sessions are made where they are made in use, in a station's SQLite store (recording and import
write only there); ``Backend.store`` gives the store under test holding them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg

from sensing.store.pg.sync import Sync
from sensing.store.sessions import Store
from sensing.store.storefile import StoreFile

STATION = "room1"


class Backend:
    """``sqlite``: a test's store is the station's own. ``postgresql``: a fresh database of the
    test server, into which ``store`` syncs the station's sessions."""

    def __init__(self, name: str, database: Callable[[], str] | None = None) -> None:
        self.name = name
        self._database = database
        self._url = ""

    def __repr__(self) -> str:
        return self.name

    @property
    def shared(self) -> bool:
        return self.name == "postgresql"

    @property
    def url(self) -> str:
        """The shared store's URL (its database made on first use)."""
        assert self._database is not None, "the SQLite backend has no shared store"
        if not self._url:
            self._url = self._database()
        return self._url

    def store(self, local: Store) -> Store:
        """The store under test holding ``local``'s sessions: ``local`` itself, or the shared
        store after a sync. Every session must be closed (a sync leaves one recording), and has
        the same id in both stores (they are copied in order into a fresh database)."""
        if not self.shared:
            return local
        result = Sync(StoreFile.open(local.path), self.url, STATION).run()
        assert result.recording == 0 and not result.unreadable, result
        shared = Store.open(self.url)
        assert {s.uuid: s.id for s in shared.sessions()} == \
            {s.uuid: s.id for s in local.sessions()}
        return shared

    def execute(self, store: Store, sql: str, args: Sequence[Any] = ()) -> None:
        """Change the stored rows of ``store`` behind sotlog's back, as damage or an older
        sotlog would (one statement written for SQLite, run on either backend)."""
        conn = store.write_connection(shared_ok=True)
        try:
            conn.execute(sql, args)
        finally:
            conn.close()


def reader(store: Store) -> Store:
    """``store`` opened by one who may only read it: a SQLite file opened for reading, or the
    shared store under a new role granted only ``SELECT`` (a viewer's)."""
    if not store.url:
        return Store.open(store.path, write=False)  # type: ignore[arg-type]
    name = f"reader_{uuid4().hex[:8]}"
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}")
    return Store.open(store.url.replace("postgresql://sotlog@", f"postgresql://{name}@"))


def copy_store(source: Path, store: Store) -> None:
    """Put the sessions of the store file ``source`` into the station's ``store`` (as they are:
    SQLite's backup), so a session a module recorded once is each test's own to change."""
    assert isinstance(store.path, Path)
    src, dst = sqlite3.connect(source), sqlite3.connect(store.path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
