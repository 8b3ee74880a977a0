"""The read side: time windows, force samples, mat totals, events and edits from a real store,
a station's SQLite store and the shared PostgreSQL store (the ``backend`` fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.errors import CalibrationError, StoreError
from firmware_bridge.frames import FrameBlock
from sensing.store import gather, read
from sensing.store.read import Session
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.sensing.store.backend import Backend, copy_store
from tests.sensing.store.test_recorder import assert_same, mat_block
from tests.sensing.store.test_store import (
    a_meta,
    cell_block,
    cells_profile,
    made,
    mat_profile,
    open_store,
)


@pytest.fixture()
def cells(local_cells: tuple[Store, int], backend: Backend) -> tuple[Store, int]:
    """``local_cells`` in the store under test."""
    store, sid = local_cells
    return backend.store(store), sid


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file holding a complete 10 s load-cell session at 80 Hz, recorded once for the
    module in 0.25 s blocks, its chunks left as written (a second each, as while it records):
    reads cross many chunk boundaries."""
    store = open_store(tmp_path_factory.mktemp("cells"))
    sid = store.create_session(a_meta(), cells_profile(), t0_host=1000.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gather, "SMALL_BYTES", 0)
        rec = Recorder(store, sid, chunk_seconds=1.0)
        for k in range(0, 800, 20):
            rec.on_frames(cell_block(k, 20))
        rec.add_event("placed", host_time=1002.0)
        rec.add_event("removed", host_time=1009.0)
        rec.close()
    assert sid == 1 and isinstance(store.path, Path)
    return store.path


@pytest.fixture()
def local_cells(tmp_path: Path, recorded: Path) -> tuple[Store, int]:
    """The recorded session in this test's own station store."""
    store = open_store(tmp_path)
    copy_store(recorded, store)
    return store, 1


def test_time_windows_are_half_open_and_exact(cells: tuple[Store, int]) -> None:
    store, sid = cells
    s = store.session(sid)
    everything = s.frames()
    assert len(everything) == 800
    t = everything.host_time - 1000.0
    for t0, t1 in ((2.0, 3.0), (0.0, 0.5), (3.3, 7.91), (9.5, None), (None, 0.1), (20, 30)):
        part = s.frames(t0, t1)
        lo = -np.inf if t0 is None else t0
        hi = np.inf if t1 is None else t1
        keep = (t >= lo) & (t < hi)
        assert np.array_equal(part.seq, everything.seq[keep]), (t0, t1)
        assert part.values.tobytes() == everything.values[keep].tobytes()
    assert len(s.frames(2.0, 3.0)) == 80 and s.frames(2.0, 3.0).seq[0] == 160
    assert len(s.frames(20, 30)) == 0 and s.frames(20, 30).frame_shape == (2,)


SPANS = ((None, None), (2.0, 3.0), (0.3, 7.91), (9.5, None), (None, 0.1), (20, 30))


@pytest.mark.parametrize("size", [1, 33, 80, 150, 5000])
def test_frame_windows_read_exactly_what_a_whole_read_does(
        cells: tuple[Store, int], monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    store, sid = cells
    monkeypatch.setattr(read, "WINDOW_BYTES", size * 8 * 2)  # two float64 channels a frame
    s = store.session(sid)
    assert read.window_frames(s.info.frame_shape) == size
    with store.connect() as conn:
        starts = {r[0] for r in conn.execute(
            "SELECT first_index FROM chunks WHERE session_id = ?", (sid,))}
    assert len(starts) >= 10
    for t0, t1 in SPANS:
        whole = s.frames(t0, t1)
        windows = list(s.frame_windows(t0, t1))
        n = len(whole)
        assert [len(w) for w in windows] == [size] * (n // size) + ([n % size] if n % size else [])
        if n:
            assert_same(FrameBlock.concat(windows), whole)
    ends = set(np.cumsum([len(w) for w in s.frame_windows()]).tolist())
    if size in (33, 150):  # some windows end inside a chunk, whose rest starts the next one
        assert ends - starts - {800}


def test_a_window_reads_only_the_chunks_it_needs(local_cells: tuple[Store, int]) -> None:
    store, sid = local_cells
    with store.connect() as conn:
        plan = " ".join(r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM chunks WHERE session_id = ? AND t_first < ? "
            "AND t_last >= ?", (sid, 3.0, 2.0)))
        n_chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert "USING INDEX chunks_time" in plan
    assert n_chunks >= 10


def test_samples_convert_to_force_per_channel(cells: tuple[Store, int]) -> None:
    store, sid = cells
    s = store.session(sid)
    raw = s.frames().values
    n = s.samples()
    assert n.names == ["left", "right"] and n.units == ["N", "counts"]
    assert np.allclose(n.values[:, 0], (raw[:, 0] * 0.001 + 0.5) * 9.80665)
    assert np.array_equal(n.values[:, 1], raw[:, 1])
    assert np.allclose(n.time_s, np.arange(800) / 80)
    assert n.device_time_s.tobytes() == s.frames().device_time.tobytes()
    kgf = s.samples(units="kgf")
    assert kgf.units == ["kgf", "counts"]
    assert np.allclose(kgf.values[:, 0], raw[:, 0] * 0.001 + 0.5)
    lbf = s.samples(units="lbf", t0=1.0, t1=2.0)
    assert len(lbf.time_s) == 80 and lbf.units == ["lbf", "counts"]
    assert np.allclose(lbf.values[:, 0], n.values[80:160, 0] / 4.4482216152605)
    with pytest.raises(CalibrationError, match="unknown force unit"):
        s.samples(units="stone")


def test_samples_use_the_stored_tare(cells: tuple[Store, int]) -> None:
    store, sid = cells
    store.set_conversion(sid, {"tare": {"left": 8000.0}})
    s = store.session(sid)
    raw = s.frames().values
    # The tare is the new zero: it replaces the profile offset (docs/calibration.md).
    assert np.allclose(s.samples(units="kgf").values[:, 0], (raw[:, 0] - 8000.0) * 0.001)


def test_events_edits_and_header(cells: tuple[Store, int]) -> None:
    store, sid = cells
    store.update_meta(sid, {"note": "second thoughts"})
    with store.session(sid) as s:
        assert [(e.kind, e.time_s) for e in s.events()] == [("placed", 2.0), ("removed", 9.0)]
        assert [e.field for e in s.edits()] == ["note"]
        info = s.info
    assert info.status == "complete" and info.n_frames == 800
    assert info.duration_s == pytest.approx(799 / 80)
    assert info.meta.note == "second thoughts" and info.profile == cells_profile()
    (listed,) = store.sessions()
    assert listed.n_frames == 800 and listed.id == sid


def test_mat_samples_give_a_total_column(tmp_path: Path, backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = local.create_session(a_meta(), mat_profile(), t0_host=0.0)
    rec = Recorder(local, sid)
    rng = np.random.default_rng(2)
    blocks = [mat_block(k, 25, rng) for k in range(0, 100, 25)]
    for b in blocks:
        rec.on_frames(b)
    rec.close()
    store = backend.store(local)
    s = store.session(sid)
    assert_same(s.frames(), FrameBlock.concat(blocks))
    samples = s.samples()
    assert samples.names[-1] == "total" and samples.values.shape[0] == 100
    totals = FrameBlock.concat(blocks).values.reshape(100, -1).sum(axis=1)
    assert np.allclose(samples.values[:, -1], totals)
    assert samples.units[-1] == "raw"


def test_a_session_is_read_through_its_own_read_only_connection(tmp_path: Path,
                                                                backend: Backend) -> None:
    local = open_store(tmp_path)
    sid = made(local, a_meta(), cells_profile())
    store = backend.store(local)
    s = Session(store.path, sid, connection=store.connect)
    with pytest.raises(StoreError, match="cannot read session|read-only transaction"):
        s._query("DELETE FROM sessions")
    s.close()
    assert len(store.sessions()) == 1
    with pytest.raises(StoreError, match="no session 7"):
        Session(store.path, 7, connection=store.connect)
