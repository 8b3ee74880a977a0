"""The store's reads on both backends: one SQLite store, and the same store synced into a real
PostgreSQL server, read through the same Store API, give the same lists, headers, samples,
frames, events, edits, raw capture, mat derived data and reparse comparison; the shared store
takes edits where its role may, by the rule of docs/multi-station.md, and records nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from firmware_bridge.errors import StoreError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store.importer import import_file
from sensing.store.listing import Filters
from sensing.store.pg.sync import Sync
from sensing.store.read import Session
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from sensing.store.storefile import StoreFile
from tests.conftest import admin_url
from tests.sensing.store.backend import reader
from tests.sensing.store.test_listing import record
from tests.sensing.store.test_reparse_flush import frames
from tests.sensing.sync.pgserver import Server, new_database

REPO = Path(__file__).resolve().parents[3]
KITRONYX = REPO / "fixtures/real/kitronyx_48x48_adc.csv"
STATION = "room1"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A station's store: load-cell sessions with events, edits and an undo; an empty one; an
    imported load-cell session and an imported mat session (both with raw capture)."""
    path = tmp_path_factory.mktemp("station") / "room1.sqlite3"
    store = Store.open(path)
    first = record(store, 800, "P-0042", day=1)
    store.add_event(first, "note", "a note", {"k": 1}, time_s=1.0)
    store.add_event(first, "placed", time_s=2.0)
    store.update_meta(first, {"position": "supine"}, "typed wrong")
    store.update_meta(first, {"category": "I"})
    store.undo_edit(first)
    record(store, 300, "P-0043", day=2)
    record(store, 0, "P-0042", day=3)
    wire = path.parent / "cells.bin"
    wire.write_bytes(frames(0, 200))
    import_file(store, wire, load_profile("sotlog-loadcells"), SessionMeta(subject_code="P-0044"))
    import_file(store, KITRONYX, load_profile("kitronyx-48x48-log"),
                SessionMeta(subject_code="P-0301"))
    return path


@pytest.fixture(scope="module")
def shared(station: Path, pg_server: Server | None) -> str:
    """The station's store synced into a fresh PostgreSQL database: its URL."""
    url = new_database(admin_url(pg_server))
    result = Sync(StoreFile.open(station), url, STATION).run()
    assert result.copied == 5
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def opened(request: pytest.FixtureRequest, station: Path) -> Store:
    """The store under test, on each backend."""
    if request.param == "sqlite":
        return Store.open(station)
    return Store.open(request.getfixturevalue("shared"))


@pytest.fixture(scope="module")
def reference(station: Path) -> Store:
    return Store.open(station, write=False)


def ids(store: Store) -> dict[str, int]:
    """Each session's id in ``store``, by uuid."""
    return {s.uuid: s.id for s in store.sessions()}


def both(opened: Store, reference: Store) -> list[tuple[Session, Session]]:
    """Each session read from the store under test and from the station's store."""
    mine, theirs = ids(opened), ids(reference)
    assert mine.keys() == theirs.keys() and len(mine) == 5
    return [(opened.session(mine[u]), reference.session(theirs[u])) for u in sorted(mine)]


def without_ids(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("id", "station")}


FILTERS = [Filters(), Filters(subject="P-0042"), Filters(subject_part="0043"),
           Filters(since="2024-03-02"), Filters(until="2024-03-02"), Filters(status="complete"),
           Filters(category="II", position="prone")]


@pytest.mark.parametrize("filters", FILTERS)
def test_lists_filter_and_page_the_same(opened: Store, reference: Store,
                                        filters: Filters) -> None:
    for limit, offset in ((None, 0), (2, 1)):
        got, want = opened.page(filters, limit, offset), reference.page(filters, limit, offset)
        assert got.total == want.total
        assert [without_ids(s.as_dict()) for s in got.sessions] == \
            [without_ids(s.as_dict()) for s in want.sessions]
        assert {s.station for s in got.sessions} <= ({STATION} if opened.url else {None})
    assert reference.page(Filters(subject="P-0042")).total == 2


def test_headers_samples_and_frames_are_the_same(opened: Store, reference: Store) -> None:
    for got, want in both(opened, reference):
        a, b = vars(got.info), vars(want.info)
        assert {k: v for k, v in a.items() if k not in ("id", "station", "profile")} == \
            {k: v for k, v in b.items() if k not in ("id", "station", "profile")}
        assert got.info.profile.source == want.info.profile.source
        assert got.info.station == (STATION if opened.url else None)
        for units, t0, t1 in (("N", None, None), ("kgf", 0.5, 2.0)):
            x, y = got.samples(units, t0, t1), want.samples(units, t0, t1)
            assert x.names == y.names and x.units == y.units
            assert np.array_equal(x.values, y.values, equal_nan=True)
            assert np.array_equal(x.time_s, y.time_s)
        assert_same_frames(got.frames(), want.frames())
        assert_same_frames(FrameBlock.concat(list(got.frame_windows())) if got.info.n_frames
                           else got.frames(), want.frames())
        assert_same_frames(got.frame_columns(0.5, 1.5), want.frame_columns(0.5, 1.5))
    assert max(s.info.n_frames for s, _ in both(opened, reference)) == 800


def assert_same_frames(a: FrameBlock, b: FrameBlock) -> None:
    assert a.values.dtype == b.values.dtype and np.array_equal(a.values, b.values)
    for name in ("host_time", "device_time", "seq", "flags"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_events_edits_and_raw_capture_are_the_same(opened: Store, reference: Store) -> None:
    edited = 0
    for got, want in both(opened, reference):
        assert [without_ids(vars(e)) | {"session_id": 0} for e in got.events()] == \
            [without_ids(vars(e)) | {"session_id": 0} for e in want.events()]
        x, y = got.edits(), want.edits()
        assert [(e.field, e.old, e.new, e.reason, e.text, e.undoable, e.undoes is None,
                 e.undone_by is None) for e in x] == \
            [(e.field, e.old, e.new, e.reason, e.text, e.undoable, e.undoes is None,
              e.undone_by is None) for e in y]
        edited += len(x)
        for (d1, s1, a1), (d2, s2, a2) in zip(got.raw_blocks(), want.raw_blocks(), strict=True):
            assert d1 == d2 and np.array_equal(s1, s2) and np.array_equal(a1, a2)
    assert edited == 3  # two edits and an undo


def test_mat_derived_data_is_the_same(opened: Store, reference: Store) -> None:
    mats = [(a, b) for a, b in both(opened, reference) if a.info.is_matrix]
    assert len(mats) == 1
    got, want = (s.mat_derived() for s in mats[0])
    assert [r.as_dict() for r in got.regions] == [r.as_dict() for r in want.regions]
    assert got.columns().keys() == want.columns().keys()
    for name, values in got.columns().items():
        assert np.array_equal(values, want.columns()[name], equal_nan=True), name


def test_reparse_compares_the_same(opened: Store, reference: Store) -> None:
    compared = 0
    for got, want in both(opened, reference):
        if not got.info.counters.get("bytes"):
            continue
        x, y = reparse(got), reparse(want)
        assert x.as_dict() == y.as_dict()
        assert x.identical, x.detail
        compared += 1
    assert compared == 2


def test_the_shared_store_is_edited_where_its_role_may_and_records_nothing(
        station: Path, pg_url: str) -> None:
    assert Sync(StoreFile.open(station), pg_url, STATION).run().copied == 5
    store = Store.open(pg_url)
    store.update_meta(1, {"position": "prone", "note": "seen centrally"}, reason="review")
    event = store.add_event(1, "note", "a central note", time_s=3.0)
    with store.session(1) as s:
        assert (s.info.meta.position, s.info.meta.note) == ("prone", "seen centrally")
        assert s.edits()[-1].field == "note" and s.edits()[-1].reason == "review"
        assert [e.text for e in s.events() if e.id == event] == ["a central note"]
    undone = store.undo_edit(1)
    with store.session(1) as s:
        assert s.info.meta.note == "first" and s.edits()[-1].id == undone
        assert s.edits()[-1].undoes is not None
    for write in (lambda: reader(store).update_meta(1, {"note": "x"}),
                  lambda: store.create_session(SessionMeta(), load_profile("sim-loadcells"))):
        with pytest.raises(StoreError) as err:
            write()
        assert "\n" not in str(err.value)
        assert "permission denied" in str(err.value) or "recorded on a station" in str(err.value)
    assert len(ids(store)) == 5


def test_a_later_central_edit_of_a_field_stands_over_a_stations_earlier_one(
        station: Path, tmp_path: Path, pg_url: str) -> None:
    local = tmp_path / "room1.sqlite3"
    local.write_bytes(station.read_bytes())
    assert Sync(StoreFile.open(local), pg_url, STATION).run().copied == 5
    Store.open(local).update_meta(2, {"category": "III", "note": "from the room"})
    Store.open(pg_url).update_meta(2, {"category": "other"}, reason="central review")
    assert Sync(StoreFile.open(local), pg_url, STATION).run().followed == 1
    with Store.open(pg_url).session(2) as s:
        assert (s.info.meta.category, s.info.meta.note) == ("other", "from the room")
        assert sorted(e.field for e in s.edits()) == ["category", "category", "note"]


def test_a_shared_store_keeps_mat_derived_data_where_its_role_may(
        station: Path, reference: Store, pg_url: str) -> None:
    assert Sync(StoreFile.open(station), pg_url, STATION).run().copied == 5
    want = reference.session(5).mat_derived().columns()

    def kept() -> int:
        with psycopg.connect(pg_url) as conn:
            return int(conn.execute("SELECT count(*) FROM mat_derived").fetchone()[0])

    viewer = reader(Store.open(pg_url))
    for _ in range(2):  # derived on each read, and said once why it was not kept
        with viewer.session(5) as s:
            assert s.info.is_matrix and not s.derived_kept()
            assert s.mat_derived().columns().keys() == want.keys()
    assert "permission denied" in viewer.derived_not_kept and kept() == 0

    owner = Store.open(pg_url)
    with owner.session(5) as s:
        got = s.mat_derived().columns()
    assert not owner.derived_not_kept and kept() == 1
    with Store.open(pg_url).session(5) as s:
        assert s.derived_kept()
        for name, values in s.mat_derived().columns().items():
            assert np.array_equal(values, want[name], equal_nan=True)
            assert np.array_equal(got[name], want[name], equal_nan=True)
