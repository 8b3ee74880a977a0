"""A mat session's derived data on real stores: kept when it closes, equal to the frames' own
values, derived again after an edit of its regions or zero, and put back exactly by an undo.

A station derives it when a session closes; the shared store it syncs into (the ``backend``
fixture) on a session's first read, kept where its role may write (docs/multi-station.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.errors import StoreError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.calibration.gains import encode_gains
from sensing.mat import Region, session_block_channels
from sensing.mat.derive import derive
from sensing.metadata import SessionMeta
from sensing.metrics.checks import mat_saturation, saturation, session_checks
from sensing.metrics.matfacts import mat_facts
from sensing.store.importer import import_file
from sensing.store.matread import found_regions, mat_series
from sensing.store.read import Session
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.recording import record_frames
from tests.sensing.store.backend import Backend, copy_store, reader

REPO = Path(__file__).resolve().parents[3]
KITRONYX = REPO / "fixtures/real/kitronyx_48x48_adc.csv"
SIM_URL = "sim://mat?rows=32&cols=32&rate=50&seed=3&speed=8"
UNITS = ("N", "kgf", "lbf")


FORMAT1 = Path(__file__).resolve().parents[3] / "fixtures" / "stores" / "format1.sqlite3"


def record_sim(store: Store, frames: int) -> int:
    """``frames`` frames of the simulated mat, recorded through the bridge as ``sotlog record``."""
    return record_frames(store, SIM_URL, "sim-mat", frames, SessionMeta(subject_code="P-0300"))[0]


@pytest.fixture
def local(tmp_path: Path) -> Store:
    """The station's store, where sessions are recorded and imported."""
    return Store.open(tmp_path / "derived.sqlite3")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file holding one session of the simulated mat, recorded once for the module."""
    path = tmp_path_factory.mktemp("derived") / "recorded.sqlite3"
    assert record_sim(Store.open(path), 400) == 1
    return path


@pytest.fixture
def sim_session(local: Store, recorded: Path) -> int:
    """The recorded session, in this test's own station store."""
    copy_store(recorded, local)
    return 1


@pytest.fixture
def store(local: Store, backend: Backend, sim_session: int) -> Store:
    """The store under test, holding ``sim_session``."""
    return backend.store(local)


def fresh_channels(s: Session, units: str) -> tuple[list[str], np.ndarray, list[str]]:
    """Block channels from the frames themselves, window by window, as sotlog 0.1 read them."""
    kept = s.info.conversion.get("mat_regions")
    regions = kept if kept else found_regions(s)
    parts = []
    for block in s.frame_windows():
        got = session_block_channels(s.info, block, units, stored=regions)
        assert got is not None
        parts.append(got)
    assert parts
    return parts[0][0], np.concatenate([p[1] for p in parts]), parts[0][2]


def assert_stored_equals_fresh(store: Store, sid: int) -> None:
    """Nothing invented: every stored value is what the frames give now, bit for bit."""
    s = store.session(sid)
    assert s.derived_kept()
    for units in UNITS:
        names, values, unit_list = fresh_channels(s, units)
        smp = s.samples(units=units)
        assert (smp.names, smp.units) == (names, unit_list)
        np.testing.assert_array_equal(smp.values, values)
    frames = FrameBlock.concat(list(s.frame_windows()))
    np.testing.assert_array_equal(smp.time_s, frames.host_time - s.info.t0_host)
    np.testing.assert_array_equal(smp.device_time_s, frames.device_time)
    derived = s.mat_derived()
    assert derived.regions == s.mat_regions() == (
        [Region.from_dict(r) for r in s.info.conversion["mat_regions"]]
        if s.info.conversion.get("mat_regions") else found_regions(s))
    series = mat_series(s, regions=derived.regions)
    for k, v in derived.whole.items():
        np.testing.assert_array_equal(v, getattr(series.whole, k))
    for name, got in derived.per_region.items():
        for k, v in got.items():
            np.testing.assert_array_equal(v, getattr(series.regions[name], k))
    np.testing.assert_array_equal(derived.frame["flags"], series.flags)
    assert ([f.as_dict() for f in mat_saturation(derived.saturated, s.info.profile)]
            == [f.as_dict() for f in saturation(s.frame_windows(), s.info.profile)])
    matrix = s.info.profile.matrix
    assert matrix is not None
    anew = derive(matrix, s.info.conversion, s.frame_windows)
    for k, v in derived.columns().items():
        np.testing.assert_array_equal(v, anew.columns()[k], err_msg=k)


def test_a_recorded_sim_session_is_derived_when_it_closes(store, sim_session, backend) -> None:
    s = store.session(sim_session)
    assert s.info.n_frames >= 400
    # By the Recorder: no read has happened yet. The shared store derives it on this read.
    assert s.derived_kept() is not backend.shared
    assert [r.name for r in s.mat_regions()] == ["left", "right"]
    assert_stored_equals_fresh(store, sim_session)


def test_a_tare_and_a_calibration_are_derived_with_their_sums(store, sim_session) -> None:
    s = store.session(sim_session)
    rows, cols = s.info.frame_shape
    gains = np.linspace(0.8, 1.2, rows * cols).reshape(rows, cols)
    conversion = {
        "calibration": {"channels": {"total": {"fit": "linear", "coef": [0.0, 0.02],
                                               "gains": encode_gains(gains), "zero_raw": 0.0}}},
        "tare": [{"from_s": s.info.duration_s / 2, "offsets": {"total": 1500.0}}],
    }
    store.set_conversion(sim_session, conversion)
    assert store.session(sim_session).mat_derived().sums.weighted is not None
    assert_stored_equals_fresh(store, sim_session)
    store.set_conversion(sim_session, {"tare": [{"from_s": 1.0, "offsets": {"total": 900.0}}]})
    assert_stored_equals_fresh(store, sim_session)


def test_the_fixture_mat_recording_imports_derived(local, backend) -> None:
    profile = load_profile("kitronyx-48x48-log")
    result = import_file(local, KITRONYX, profile, SessionMeta(subject_code="P-0301"))
    sid = result.session_id
    store = backend.store(local)
    assert store.session(sid).info.n_frames > 0
    assert store.session(sid).derived_kept() is not backend.shared  # the shared: on first read
    channels(store, sid)
    assert_stored_equals_fresh(store, sid)


def channels(store: Store, sid: int) -> np.ndarray:
    return store.session(sid).samples(units="N").values


def test_a_region_edit_derives_again_and_its_undo_puts_the_channels_back(store,
                                                                        sim_session) -> None:
    before = channels(store, sim_session)
    found = store.session(sim_session).mat_regions()
    mine = [Region("left", 2, 20, 1, 12, "person").as_dict(),
            Region("right", 2, 20, 18, 31, "person").as_dict()]
    store.set_mat_regions(sim_session, mine)
    s = store.session(sim_session)
    assert s.derived_kept()  # derived by the edit, not left to the next read
    assert [r.as_dict() for r in s.mat_regions()] == mine
    assert s.mat_derived().regions_from == "person"
    edited = channels(store, sim_session)
    assert not np.array_equal(edited, before)
    assert_stored_equals_fresh(store, sim_session)

    store.undo_edit(sim_session)
    s = store.session(sim_session)
    assert s.derived_kept() and "mat_regions" not in s.info.conversion
    assert s.mat_regions() == found
    np.testing.assert_array_equal(channels(store, sim_session), before)
    assert [e.reason for e in s.edits()] == ["block regions set", "undo of edit 1"]

    store.undo_edit(sim_session, s.edits()[-1].id)  # the undo undone: the person's regions
    np.testing.assert_array_equal(channels(store, sim_session), edited)


def forget_derived(store: Store) -> None:
    """The store as an older sotlog left it: no derived data."""
    conn = store.write_connection(shared_ok=True)
    try:
        conn.execute("DELETE FROM mat_derived_columns")
        conn.execute("DELETE FROM mat_derived")
    finally:
        conn.close()


def test_an_old_session_is_derived_on_first_open_and_kept(store, sim_session) -> None:
    want = channels(store, sim_session)
    forget_derived(store)
    assert not store.session(sim_session).derived_kept()
    read_only = reader(store)
    np.testing.assert_array_equal(read_only.session(sim_session).samples().values, want)
    assert not store.session(sim_session).derived_kept()  # a read-only store keeps nothing
    s = store.session(sim_session)
    assert [f.channel for f in session_checks(s)][-1] == "total"
    assert store.session(sim_session).derived_kept()
    np.testing.assert_array_equal(channels(store, sim_session), want)
    assert mat_facts(store.session(sim_session))["frames"] == len(want)


def test_derived_data_of_another_conversion_is_never_read(store, sim_session, backend) -> None:
    """An edit that bypassed the Store (another tool, an older sotlog) leaves the kept data
    stale: the read derives it again rather than showing it."""
    before = channels(store, sim_session)
    assert store.session(sim_session).derived_kept()
    backend.execute(store, "UPDATE sessions SET conversion_json = ? WHERE id = ?",
                    ('{"mat_regions":[{"name":"left","r0":0,"r1":8,"c0":0,"c1":8}]}',
                     sim_session))
    s = store.session(sim_session)
    assert not s.derived_kept()
    assert [r.as_dict()["r1"] for r in s.mat_regions()] == [8]
    assert not np.array_equal(s.samples().values[:, -1], np.zeros(len(before)))
    assert s.samples().names == ["left", "total"]
    assert store.session(sim_session).derived_kept()


def test_a_session_still_recording_is_derived_but_not_kept(local) -> None:
    store = local
    profile = load_profile("sim-mat")
    sid = store.create_session(SessionMeta(), profile)
    rec = Recorder(store, sid)
    frames = np.zeros((30, 32, 32), np.uint16)
    frames[:, 4:10, 4:10] = 500
    assert profile.matrix is not None
    frames[5:8, 6, 6:8] = profile.matrix.raw_max
    rec.on_frames(FrameBlock.build(frames, np.arange(30) / 30.0))
    assert rec.add_event("note", "committed with the frames before it", host_time=1.0)
    s = store.session(sid)
    assert s.info.n_frames == 30
    assert s.samples().values.shape == (30, 2)
    assert not store.session(sid).derived_kept()
    rec.close()
    s = store.session(sid)
    assert s.derived_kept()
    found = [f for f in session_checks(s) if f.check == "saturation"]
    assert [(f.warn, f.data["frames"], f.data["readings"]) for f in found] == [(True, 3, 6)]


def test_show_reads_no_frame_once_derived(store, sim_session, backend) -> None:
    """With every stored frame value made unreadable, what show reads still reads: it comes
    from the derived data alone."""
    s = store.session(sim_session)
    want = (s.samples(units="kgf").values, mat_facts(s), [f.as_dict() for f in session_checks(
        s, now="2026-01-01T00:00:00")], s.mat_regions())
    backend.execute(store, "UPDATE chunks SET vals = ? WHERE session_id = ?",
                    (b"\x00", sim_session))
    s = store.session(sim_session)
    with pytest.raises(StoreError, match="damaged"):
        next(iter(s.frame_windows()))
    got = (s.samples(units="kgf").values, mat_facts(s), [f.as_dict() for f in session_checks(
        s, now="2026-01-01T00:00:00")], s.mat_regions())
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1:] == want[1:]
    # An edit now stands though its data cannot be derived; a read says what is damaged.
    mine = [Region("left", 2, 20, 1, 12, "person").as_dict()]
    assert store.set_mat_regions(sim_session, mine) == mine
    assert "damaged" in store.derived_not_kept
    s = store.session(sim_session)
    assert s.info.conversion["mat_regions"] == mine and not s.derived_kept()
    with pytest.raises(StoreError, match="damaged"):
        s.samples()


def test_a_version_3_store_migrates_and_derives_on_first_read(tmp_path: Path) -> None:
    """fixtures/stores/format1.sqlite3, written by sotlog at store version 3: its mat session
    (2) has no derived data until it is first read, then keeps what its frames give."""
    path = Path(shutil.copy(FORMAT1, tmp_path / "old.sqlite3"))
    with pytest.raises(StoreError, match="older sotlog"):
        Store.open(path, write=False)  # read-only: cannot be brought up to date
    store = Store.open(path)
    assert not store.session(2).derived_kept()
    want = fresh_channels(store.session(2), "N")[1]
    np.testing.assert_array_equal(channels(store, 2), want)
    assert_stored_equals_fresh(store, 2)
