"""The session store on real SQLite files: opening, schema, sessions, edits, events, recovery.

What a shared store reads and edits runs on both backends (the ``backend`` fixture,
tests/sensing/store/conftest.py); opening a file, its schema, recording and recovery are a
station's SQLite store's own."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from firmware_bridge.errors import ProfileError, StoreError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile, parse_profile
from sensing.calibration.conversion import zero_segments
from sensing.metadata import Block, MetadataError, SessionMeta
from sensing.store import codec as store_codec
from sensing.store import schema as store_schema
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.sensing.store.backend import Backend

CELLS_TOML = """name = "test-cells"
protocol = "blockframe"
nominal_rate_hz = 80

[[channels]]
name = "left"
unit = "kg"
scale = 0.001
offset = 0.5
block = "left"

[[channels]]
name = "right"
unit = "counts"
block = "right"
"""

MAT_TOML = """name = "test-mat"
protocol = "blockframe"
nominal_rate_hz = 50

[matrix]
rows = 48
cols = 48
raw_max = 4095
unit = "raw"
dtype = "uint16"
"""


def cells_profile() -> Profile:
    return parse_profile(CELLS_TOML, "test:cells")


def mat_profile() -> Profile:
    return parse_profile(MAT_TOML, "test:mat")


def a_meta(subject: str = "P-0042", **kw: object) -> SessionMeta:
    fields: dict = {"subject_code": subject, "position": "prone", "category": "II",
                    "short_leg": "left",
                    "blocks": [Block(side="left", landmark="iliac_crest", angle_deg=30.0,
                                     channel="left")],
                    "body_weight_kg": 71.5, "note": "first"}
    fields.update(kw)
    return SessionMeta(**fields)


def cell_block(start: int, n: int, t0: float = 1000.0, rate: float = 80.0) -> FrameBlock:
    """Deterministic load-cell frames ``start .. start + n`` (float64, awkward bit patterns)."""
    k = np.arange(start, start + n)
    values = np.column_stack([8000 + 1000 * np.sin(k / 7.0), -3.25 + k / 3.0])
    dev = np.where(k % 5 == 0, np.nan, k / rate)
    return FrameBlock.build(values, t0 + k / rate, dev, k, (k % 3 == 0).astype(np.uint8))


def open_store(tmp_path: Path, **kw: object) -> Store:
    return Store.open(tmp_path / "s.sqlite3", **kw)  # type: ignore[arg-type]


def made(store: Store, meta: SessionMeta, profile: Profile, **kw: object) -> int:
    """A session with no frames, ended complete (a shared store holds closed sessions)."""
    sid = store.create_session(meta, profile, **kw)  # type: ignore[arg-type]
    Recorder(store, sid).close("complete")
    return sid


def test_open_creates_folder_and_a_wal_store(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "sessions.sqlite3"
    store = Store.open(path)
    assert store.path == path and path.is_file()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store_schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == store_schema.APPLICATION_ID
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "session_edits", "events", "chunks", "raw"} <= tables
    conn.close()
    with store.connect() as ro:
        assert ro.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(sqlite3.OperationalError):
            ro.execute("DELETE FROM sessions")
    Store.open(path)  # opening again is harmless


def test_path_from_environment_then_user_data_dir(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOTLOG_STORE", str(tmp_path / "env.sqlite3"))
    assert Store.open().path == tmp_path / "env.sqlite3"
    monkeypatch.delenv("SOTLOG_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert Store.open().path == tmp_path / "xdg" / "sotlog" / "sessions.sqlite3"


@pytest.mark.parametrize("content", [b"subject,force\nP-1,12\n", os.urandom(8192)])
def test_a_file_that_is_not_a_store_is_one_line_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert "not a sotlog session store" in str(err.value) and "\n" not in str(err.value)


def test_another_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE patients (name TEXT)")
    with pytest.raises(StoreError, match="not a sotlog session store"):
        Store.open(path)


def test_a_store_from_a_newer_sotlog_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"PRAGMA user_version = {store_schema.SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer sotlog"):
        Store.open(store.path)


def test_a_corrupt_store_is_a_store_error(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.create_session(a_meta(), cells_profile())
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(store.path.read_bytes())
    data[:16] = b"definitely not!!"
    store.path.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        Store.open(store.path)


def test_create_session_keeps_header_profile_and_owner(tmp_path: Path,
                                                     backend: Backend) -> None:
    local = open_store(tmp_path)
    profile = cells_profile()
    sid = local.create_session(a_meta(), profile, port="/dev/ttyUSB0", device="HX711 rig",
                               t0_host=123.5, conversion={"tare": {"left": 10.0}})
    info = local.session(sid).info
    assert info.status == "recording" and info.ended_utc is None
    with local.connect() as conn:
        row = conn.execute("SELECT pid, hostname, proc_token FROM sessions").fetchone()
    assert row["pid"] == os.getpid() and row["hostname"]
    Recorder(local, sid).close("complete")
    info = backend.store(local).session(sid).info
    assert info.id == sid and len(info.uuid) == 36
    assert info.meta == a_meta()
    assert info.profile == profile and info.profile_name == "test-cells"
    assert info.port == "/dev/ttyUSB0" and info.device == "HX711 rig"
    assert info.t0_host == 123.5 and info.status == "complete" and info.ended_utc
    assert info.frame_shape == (2,) and info.channel_names == ["left", "right"]
    assert info.conversion == {"tare": {"left": 10.0}}
    assert info.format_version == store_schema.FORMAT_VERSION and info.software_version
    assert info.started_utc.endswith("+00:00")
    assert info.n_frames == 0 and info.duration_s == 0.0


def test_a_profile_a_stricter_sotlog_refuses_still_opens_its_session(
        tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = made(local, a_meta(), cells_profile(), port="p", device="d", t0_host=0.0)
    store = backend.store(local)
    older = "retired_key = 3\n" + cells_profile().source
    with pytest.raises(ProfileError, match="retired_key"):
        parse_profile(older, "older")
    backend.execute(store, "UPDATE sessions SET profile_toml = ? WHERE id = ?", (older, sid))
    info = store.session(sid).info
    assert info.profile.channel_names == ["left", "right"] and "retired_key" in info.profile.source
    backend.execute(store, "UPDATE sessions SET profile_toml = 'not = [toml' WHERE id = ?",
                    (sid,))
    with pytest.raises(StoreError, match=f"^session {sid}: its stored profile cannot be read"):
        store.session(sid)


def test_a_profile_without_toml_text_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    bare = Profile(name="bare", protocol="blockframe")
    with pytest.raises(StoreError, match="no TOML text"):
        store.create_session(a_meta(), bare)


def test_missing_session_is_one_line(tmp_path: Path, backend: Backend) -> None:
    store = backend.store(open_store(tmp_path))
    with pytest.raises(StoreError) as err:
        store.session(42)
    assert str(err.value) == f"no session 42 in {store.path}"
    assert str(store.path).endswith("s.sqlite3") or backend.shared


def test_sessions_filters_newest_first(tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    ids = [
        made(local, a_meta("P-1"), cells_profile(), started_utc="2024-03-01T09:00:00.000+00:00"),
        made(local, a_meta("P-2", position="supine", category="I"), cells_profile(),
             started_utc="2024-03-02T09:00:00.000+00:00"),
        made(local, a_meta("P-1", category="III"), mat_profile(),
             started_utc="2024-03-03T09:00:00.000+00:00"),
    ]
    store = backend.store(local)
    assert [i.id for i in store.sessions()] == ids[::-1]
    assert [i.id for i in store.sessions(subject="P-1")] == [ids[2], ids[0]]
    assert [i.id for i in store.sessions(position="supine")] == [ids[1]]
    assert [i.id for i in store.sessions(category="III")] == [ids[2]]
    assert [i.id for i in store.sessions(since="2024-03-02")] == [ids[2], ids[1]]
    assert [i.id for i in store.sessions(until="2024-03-02")] == [ids[0]]
    assert store.sessions(status="interrupted") == []
    assert len(store.sessions(status="complete")) == 3
    assert store.sessions()[0].frame_shape == (48, 48) and store.sessions()[0].is_matrix


def test_update_meta_validates_and_logs_every_edit(tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = made(local, a_meta(), cells_profile())
    store = backend.store(local)
    block = Block(side="right", landmark="sacrum", channel="right")
    new = store.update_meta(sid, {"category": "I", "note": "moved block", "blocks": [block]})
    assert new.category == "I" and new.blocks[0].landmark == "sacrum"
    session = store.session(sid)
    assert session.info.meta == new
    edits = session.edits()
    assert [e.field for e in edits] == ["category", "note", "blocks"]
    assert (edits[0].old, edits[0].new) == ("II", "I")
    assert edits[2].old == [{"side": "left", "landmark": "iliac_crest", "angle_deg": 30.0,
                             "channel": "left"}]
    assert edits[2].new[0]["landmark"] == "sacrum" and edits[0].at_utc
    with pytest.raises(MetadataError):
        store.update_meta(sid, {"position": "sideways"})
    with pytest.raises(MetadataError, match="unknown session field"):
        store.update_meta(sid, {"name": "Jane"})
    assert store.session(sid).info.meta == new and len(store.session(sid).edits()) == 3
    store.update_meta(sid, {"category": "I"})  # no change, no edit
    assert len(store.session(sid).edits()) == 3


def test_set_conversion_is_logged(tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = made(local, a_meta(), cells_profile())
    store = backend.store(local)
    store.set_conversion(sid, {"tare": {"left": 8000.0}})
    s = store.session(sid)
    assert s.info.conversion == {"tare": {"left": 8000.0}}
    assert [(e.field, e.old, e.new) for e in s.edits()] == [
        ("conversion", {}, {"tare": {"left": 8000.0}})]


def test_add_event_after_recording(tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = made(local, a_meta(), cells_profile(), t0_host=500.0)
    store = backend.store(local)
    eid = store.add_event(sid, "marker", "patient coughed", {"by": "dashboard"}, time_s=12.5)
    (event,) = store.session(sid).events()
    assert (event.id, event.kind, event.text, event.source) == (eid, "marker", "patient coughed",
                                                                "person")
    assert event.time_s == 12.5 and event.host_time == 512.5 and event.data == {"by": "dashboard"}
    with pytest.raises(MetadataError):
        store.add_event(sid, "sneezed", time_s=1.0)
    with pytest.raises(StoreError, match="needs its time"):
        store.add_event(sid, "note", "x")
    with pytest.raises(StoreError, match="no session 99"):
        store.add_event(99, "note", "x", time_s=1.0)


def test_a_version_1_store_is_migrated_on_open(tmp_path: Path) -> None:
    """A store written by sotlog 0.1 (schema 1, calibrations table made on first use, a tare as
    one dict) opens as the current schema with everything kept."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for sql in store_schema.MIGRATIONS[0]:
        conn.execute(sql)
    conn.execute("CREATE TABLE calibrations (id INTEGER PRIMARY KEY, batch INTEGER, "
                 "created_utc TEXT NOT NULL, kind TEXT NOT NULL, profile_name TEXT NOT NULL, "
                 "channel TEXT NOT NULL, port TEXT NOT NULL DEFAULT '', device TEXT NOT NULL "
                 "DEFAULT '', unit TEXT NOT NULL, fit TEXT NOT NULL DEFAULT '', by TEXT NOT NULL "
                 "DEFAULT '', record_json TEXT NOT NULL, gains BLOB)")
    conn.execute("INSERT INTO calibrations (created_utc, kind, profile_name, channel, unit, "
                 "record_json) VALUES ('2024-01-01', 'loadcell', 'p', 'left', 'kg', '{}')")
    conn.execute(f"PRAGMA application_id = {store_schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = Store.open(path)
    sid = store.create_session(a_meta(), cells_profile(),
                               conversion={"tare": {"left": 10.0, "right": 20.0},
                                           "tare_info": {"frames": 80}})
    with store.connect() as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == store_schema.SCHEMA_VERSION
        assert c.execute("SELECT count(*) FROM calibrations").fetchone()[0] == 1
    info = store.session(sid).info
    assert info.end_reason == "" and info.face == ""
    assert zero_segments(info.conversion) == [{"frames": 80, "from_s": None,
                                               "offsets": {"left": 10.0, "right": 20.0}}]
    store.update_meta(sid, {"note": "moved"}, reason="typo")
    (edit,) = store.session(sid).edits()
    assert (edit.reason, edit.undoes, edit.undone_by) == ("typo", None, None)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sessions_of_a_gone_process_become_interrupted(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    dead = store.create_session(a_meta("P-0901"), cells_profile(), t0_host=0.0)
    mine = store.create_session(a_meta("P-0902"), cells_profile())
    elsewhere = store.create_session(a_meta("P-0903"), cells_profile())
    reused = store.create_session(a_meta("P-0904"), cells_profile())
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE sessions SET pid = ? WHERE id = ?", (_dead_pid(), dead))
        conn.execute("UPDATE sessions SET hostname = 'another-laptop', pid = ? WHERE id = ?",
                     (_dead_pid(), elsewhere))
        conn.execute("UPDATE sessions SET proc_token = 'not-my-start' WHERE id = ?", (reused,))
    Store.open(store.path)
    status = {i.id: i.status for i in store.sessions()}
    assert status == {dead: "interrupted", mine: "recording", elsewhere: "recording",
                      reused: "interrupted"}
    (warning,) = store.session(dead).events()
    assert warning.kind == "warning" and warning.source == "sotlog"
    assert "marked interrupted" in warning.text
    assert json.dumps(warning.data)


@settings(max_examples=150, deadline=None)
@given(arrays(st.sampled_from(["<u1", "<u2", ">u2", "<i2", "<i4", "<u4", "<i8", "<u8", "<f8",
                               ">f8", "<f4", "?"]),
              array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9)))
def test_codecs_are_bit_exact(a: np.ndarray) -> None:
    codec, blob = store_codec.encode(a)
    stored = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    back = store_codec.decode(codec, blob, stored.str, a.shape)
    assert back.shape == a.shape
    assert back.tobytes() == np.ascontiguousarray(a, dtype=stored).tobytes()


def test_edits_are_said_in_words_and_say_whether_they_can_be_undone(
        tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = made(local, a_meta(), cells_profile())
    store = backend.store(local)
    store.update_meta(sid, {"category": "I", "body_weight_kg": 70.0})
    tare = {"offsets": {"left": 8123.0, "right": 7990.5}, "from_s": 12.345}
    store.set_conversion(sid, {"tare": [tare]}, reason="tare at 12.35 s")
    store.update_meta(sid, {"category": "III"})
    edits = store.session(sid).edits()
    assert [e.text for e in edits] == [
        "Category II → I", "Body weight 71.5 kg → 70 kg",
        "Tare from 12.35 s (left 8123, right 7990 raw)", "Category I → III"]
    assert [e.undoable for e in edits] == [False, True, True, True]
    assert edits[0].not_undoable_because == "edit 4 changed category since: undo that one first"
    with pytest.raises(StoreError, match="undo that one first"):
        store.undo_edit(sid, edits[0].id)
    store.undo_edit(sid, edits[2].id)
    undone = store.session(sid).edits()
    assert undone[2].undoable is False and undone[2].not_undoable_because == "undone by edit 5"
    assert undone[4].text == ("Undo of edit 3: Tare from 12.35 s (left 8123, right 7990 raw) "
                              "taken out")
    assert undone[4].undoable and store.session(sid).info.conversion == {}


def test_a_connection_in_a_with_block_ends_its_transaction_as_sqlite3s_does(
        tmp_path: Path, backend: Backend) -> None:
    """Committed at the end of the block, rolled back after an error; the connection stays open
    (on the shared store, through sensing.store.pg.adapter)."""
    store = backend.store(open_store(tmp_path))
    conn = store.write_connection(shared_ok=True)
    try:
        conn.execute("CREATE TEMP TABLE t (x INTEGER)")
        with conn:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError), conn:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (2)")
            raise ValueError("an error inside the block")
        assert not conn.in_transaction
        assert [tuple(r) for r in conn.execute("SELECT x FROM t").fetchall()] == [(1,)]
    finally:
        conn.close()
