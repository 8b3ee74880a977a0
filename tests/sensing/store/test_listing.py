"""Listing sessions reads the sessions table alone: counts stored when a session ends (or taken
once for a store an older sotlog wrote), filters and pages in SQL, no profile parsed: on a
station's store and on the shared store (the ``backend`` fixture); counting while recording, an
older file and SQLite's locks are a station's store's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from firmware_bridge.errors import StoreError
from sensing.store import schema as store_schema
from sensing.store.listing import Filters
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.sensing.store.backend import Backend
from tests.sensing.store.test_store import (
    _dead_pid,
    a_meta,
    cell_block,
    cells_profile,
    open_store,
)


def record(store: Store, frames: int, subject: str = "P-0042", day: int = 1) -> int:
    """A session of ``frames`` load-cell frames at 80 Hz, ended complete."""
    sid = store.create_session(a_meta(subject), cells_profile(), t0_host=1000.0,
                               started_utc=f"2024-03-{day:02d}T09:00:00.000+00:00")
    rec = Recorder(store, sid)
    if frames:
        rec.on_frames(cell_block(0, frames))
    rec.close("complete")
    return sid


def stored_counts(store: Store) -> dict[int, tuple[int | None, float | None]]:
    with sqlite3.connect(store.path) as conn:
        return {r[0]: (r[1], r[2]) for r in
                conn.execute("SELECT id, frame_count, duration_s FROM sessions")}


def test_a_list_reads_neither_samples_nor_profiles(tmp_path: Path, backend: Backend) -> None:
    store = open_store(tmp_path)
    ended = record(store, 800)
    empty = record(store, 0, day=2)
    live = store.create_session(a_meta(), cells_profile(), t0_host=1000.0,
                                started_utc="2024-03-03T09:00:00.000+00:00")
    rec = Recorder(store, live)
    rec.on_frames(cell_block(0, 120))
    rec.add_event("note", "committed")  # a person waits for it: the frames before are stored
    assert stored_counts(store) == {ended: (800, pytest.approx(799 / 80)), empty: (0, 0.0),
                                    live: (None, None)}
    counts = {i.id: (i.status, i.n_frames, i.duration_s) for i in store.sessions()}
    assert counts == {ended: ("complete", 800, pytest.approx(799 / 80)),
                      empty: ("complete", 0, 0.0),
                      live: ("recording", 120, pytest.approx(119 / 80))}  # counted while live
    rec.close("complete")

    store = backend.store(store)  # what a list must not touch, made unreadable:
    backend.execute(store, "UPDATE sessions SET profile_toml = '[[not toml'")
    backend.execute(store, "ALTER TABLE chunks RENAME TO chunks_elsewhere")
    listed = store.sessions()
    assert [(i.id, i.n_frames) for i in listed] == [(live, 120), (empty, 0), (ended, 800)]
    assert listed[2].meta == a_meta().as_dict() and listed[2].channel_names == ["left", "right"]
    backend.execute(store, "ALTER TABLE chunks_elsewhere RENAME TO chunks")
    with pytest.raises(StoreError, match="stored profile cannot be read"):
        store.session(ended)  # opening a session is where its profile is read


def test_pages_and_filters_run_in_sql(tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    ids = [record(local, 0, subject=f"{'P' if d % 2 else 'q'}-00{d}", day=d)
           for d in range(1, 8)]
    store = backend.store(local)
    newest = ids[::-1]
    first = store.page(limit=3)
    assert [i.id for i in first.sessions] == newest[:3] and first.total == 7 and first.more
    last = store.page(limit=3, offset=6)
    assert [i.id for i in last.sessions] == newest[6:] and not last.more
    assert store.page(limit=3, offset=9).sessions == []
    odd = Filters(subject_part=" p-00 ")  # a part of a code, any case, blanks around ignored
    assert [i.id for i in store.page(odd, limit=2, offset=1).sessions] == [ids[4], ids[2]]
    assert store.page(odd, limit=2).total == 4
    assert store.page(Filters(subject_part="Q-002")).total == 1
    assert store.page(Filters(subject_part="  ")).total == 7
    assert [i.id for i in store.sessions(since="2024-03-06", limit=1)] == [ids[6]]
    assert [i.id for i in store.sessions(since="2024-03-06", offset=1)] == [ids[5]]


def test_an_older_store_is_counted_once_and_kept(tmp_path: Path) -> None:
    """A store of version 2 (no stored counts) lists right at once; a list that can write keeps
    what it counted, one that can only read counts again."""
    store = open_store(tmp_path)
    a, b = record(store, 800), record(store, 160, day=2)
    with sqlite3.connect(store.path) as conn:
        conn.execute("ALTER TABLE sessions DROP COLUMN frame_count")
        conn.execute("ALTER TABLE sessions DROP COLUMN duration_s")
        conn.execute("ALTER TABLE sessions DROP COLUMN visit_json")  # version 5's
        for table in ("chunks", "raw"):  # (version 6's; a list never decodes a row)
            conn.execute(f"ALTER TABLE {table} DROP COLUMN codecs")
        conn.execute("PRAGMA user_version = 2")
    old = Store.open(store.path)
    with old.connect() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_schema.SCHEMA_VERSION
    assert stored_counts(old) == {a: (None, None), b: (None, None)}
    assert [(i.id, i.n_frames) for i in old.sessions(limit=1)] == [(b, 160)]
    assert stored_counts(old) == {a: (None, None), b: (160, pytest.approx(159 / 80))}

    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE sessions SET frame_count = NULL, duration_s = NULL")
    reader = Store.open(store.path, write=False)
    assert [(i.id, i.n_frames) for i in reader.sessions()] == [(b, 160), (a, 800)]
    assert stored_counts(reader) == {a: (None, None), b: (None, None)}


def test_a_session_found_interrupted_keeps_its_counts(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    sid = store.create_session(a_meta(), cells_profile(), t0_host=1000.0)
    rec = Recorder(store, sid)
    rec.on_frames(cell_block(0, 240))
    rec.add_event("note", "committed")
    with sqlite3.connect(store.path) as conn:  # as if its recording process had died
        conn.execute("UPDATE sessions SET pid = ? WHERE id = ?", (_dead_pid(), sid))
    reopened = Store.open(store.path)
    assert reopened.found_interrupted == [sid]
    assert stored_counts(reopened) == {sid: (240, pytest.approx(239 / 80))}
    (listed,) = reopened.sessions()
    assert (listed.status, listed.n_frames) == ("interrupted", 240)
    rec.close("interrupted")


def test_opening_and_listing_take_no_write_lock(tmp_path: Path) -> None:
    """A store that is up to date opens and lists while another process writes to it (a
    recording's commit must not make `sotlog sessions` wait)."""
    store = open_store(tmp_path)
    sid = record(store, 80)
    writer = sqlite3.connect(store.path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # held for the whole list; a list that wrote would fail
    try:
        opened = Store.open(store.path)
        assert [(i.id, i.n_frames) for i in opened.sessions()] == [(sid, 80)]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
