"""Mat sessions on real stores: force per block, regions, facts, live payload, import. Each is
read (and its regions edited) on a station's SQLite store and on the shared PostgreSQL store it
syncs into (the ``backend`` fixture); importing is into a station's store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.errors import ProfileError, StoreError
from firmware_bridge.frames import FLAG_OUT_OF_RANGE, Counters, FrameBlock
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.protocols.m1616 import encode_m1616
from sensing.mat import Region, live_payload
from sensing.metadata import SessionMeta
from sensing.metrics.checks import session_checks
from sensing.metrics.matfacts import mat_facts
from sensing.store import importer, read
from sensing.store.importer import import_file
from sensing.store.matread import found_regions, mat_mean, mat_series
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.sensing.store.backend import Backend, copy_store
from tests.sensing.store.test_store import made

REPO = Path(__file__).resolve().parents[3]
KITRONYX = REPO / "fixtures/real/kitronyx_48x48_adc.csv"
HX711 = [REPO / "fixtures/real/hx711_arduino_9600_log22.csv",
         REPO / "fixtures/real/hx711_arduino_9600_log24.csv"]

ROWS, COLS = 12, 16
MAT_TOML = f"""
name = "test-mat"
protocol = "blockframe"
nominal_rate_hz = 2
[matrix]
rows = {ROWS}
cols = {COLS}
pitch_mm = [10.0, 8.0]
raw_min = 0
raw_max = 1000
unit = "kPa"
scale = 0.5
noise_threshold = 3
dtype = "uint16"
"""
# Where the test puts each block's load (rows, cols, half-open) in the stored image. The
# profile's patient_left is image-left, so the block at low columns is the patient's left.
LEFT = (4, 9, 1, 6)
RIGHT = (3, 10, 9, 14)
STRAY = (0, 15)  # one loaded sensel outside both blocks: in total only


def mat_frames(n: int, rng: np.random.Generator) -> np.ndarray:
    frames = rng.integers(0, 4, (n, ROWS, COLS))  # noise at or below the threshold (3)
    k = np.arange(n)[:, None, None]
    for (r0, r1, c0, c1), base in ((LEFT, 200), (RIGHT, 120)):
        frames[:, r0:r1, c0:c1] = base + (k * 7 + rng.integers(0, 50, (n, r1 - r0, c1 - c0)))
    frames[:, STRAY[0], STRAY[1]] = 40
    return np.minimum(frames, 1000).astype(np.uint16)


def expected_channels(frames: np.ndarray, boxes: dict[str, tuple[int, int, int, int]]) -> dict:
    """Force per block in N, computed here from the profile's numbers, not by sensing.mat."""
    area_m2 = 10e-3 * 8e-3
    kpa = np.where(frames > 3, frames * 0.5, 0.0)
    newtons = kpa * 1000.0 * area_m2
    out = {name: newtons[:, r0:r1, c0:c1].sum(axis=(1, 2))
           for name, (r0, r1, c0, c1) in boxes.items()}
    out["total"] = newtons.sum(axis=(1, 2))
    return out


def record_mat(store: Store, frames: np.ndarray, times: np.ndarray,
               flags: np.ndarray | None = None) -> int:
    profile = parse_profile(MAT_TOML, "test-mat.toml")
    sid = store.create_session(SessionMeta(subject_code="P-0001"), profile, t0_host=100.0)
    rec = Recorder(store, sid, flush_interval=0.05)
    for a in range(0, len(frames), 25):
        b = min(len(frames), a + 25)
        rec.on_frames(FrameBlock.build(frames[a:b], 100.0 + times[a:b], times[a:b],
                                       np.arange(a, b), None if flags is None else flags[a:b]))
    rec.close(counters=Counters(frames=len(frames)))
    assert rec.error is None and rec.frames_written == len(frames)
    return sid


@pytest.fixture
def local(tmp_path: Path) -> Store:
    """The station's store, where sessions are recorded and imported."""
    return Store.open(tmp_path / "mats.sqlite3")


@pytest.fixture
def store(local: Store, backend: Backend, mat_session: tuple[int, np.ndarray, np.ndarray]
          ) -> Store:
    """The store under test, holding ``mat_session``."""
    return backend.store(local)


def window_of(monkeypatch: pytest.MonkeyPatch, frames: int) -> None:
    """Read windows of ``frames`` frames of the test mat."""
    monkeypatch.setattr(read, "WINDOW_BYTES", frames * 8 * ROWS * COLS)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A store file holding one mat session, recorded once for the module; its frames and
    times (read only)."""
    n = 130  # 65 s at 2 frames/s, stored in chunks of 2 frames
    frames = mat_frames(n, np.random.default_rng(7))
    times = np.arange(n) * 0.5
    flags = np.zeros(n, np.uint8)
    flags[17] = FLAG_OUT_OF_RANGE
    path = tmp_path_factory.mktemp("mats") / "recorded.sqlite3"
    assert record_mat(Store.open(path), frames, times, flags) == 1
    frames.flags.writeable = times.flags.writeable = False
    return path, frames, times


@pytest.fixture
def mat_session(local: Store, recorded: tuple[Path, np.ndarray, np.ndarray]
                ) -> tuple[int, np.ndarray, np.ndarray]:
    """The recorded session (its id, frames and times), in this test's own station store."""
    path, frames, times = recorded
    copy_store(path, local)
    return 1, frames, times


def test_force_per_block_matches_an_independent_computation(store, mat_session,
                                                            monkeypatch) -> None:
    sid, frames, times = mat_session
    window_of(monkeypatch, 7)  # windows end inside chunks
    s = store.session(sid)
    assert len(list(s.frame_windows())) > 3
    regions = {r.name: (r.r0, r.r1, r.c0, r.c1) for r in s.mat_regions()}
    assert regions == {"left": LEFT, "right": RIGHT}
    samples = s.samples()
    assert samples.names == ["left", "right", "total"] and samples.units == ["N"] * 3
    want = expected_channels(frames, {"left": LEFT, "right": RIGHT})
    for j, name in enumerate(samples.names):
        np.testing.assert_allclose(samples.values[:, j], want[name], rtol=1e-12)
    np.testing.assert_allclose(samples.time_s, times, atol=1e-9)
    # The stray sensel is load outside both blocks: in total, never dropped.
    assert np.all(samples.values[:, 2] > samples.values[:, 0] + samples.values[:, 1])
    kgf = s.samples(units="kgf")
    np.testing.assert_allclose(kgf.values, samples.values / 9.80665, rtol=1e-12)


def test_many_windows_read_exactly_as_one(store, mat_session, monkeypatch) -> None:
    """Nothing lost, nothing invented: every windowed reading equals a one-window read."""
    sid = mat_session[0]

    def everything() -> dict:
        s = store.session(sid)
        spans = ((None, None), (3.25, 41.0), (40.0, None))
        series = [mat_series(s, t0, t1, units="kgf") for t0, t1 in spans]
        return {
            "regions": found_regions(s),
            "samples": [s.samples("N", t0, t1) for t0, t1 in spans],
            "series": [(m.time_s, m.flags, vars(m.whole), {k: vars(v) for k, v in
                                                          m.regions.items()}) for m in series],
            "mean": [mat_mean(s, t0, t1) for t0, t1 in spans],
            "checks": [f.as_dict() for f in session_checks(s, now="2026-01-01T00:00:00")],
        }

    window_of(monkeypatch, 1000)
    assert len(list(store.session(sid).frame_windows())) == 1
    one = everything()
    window_of(monkeypatch, 7)
    assert len(list(store.session(sid).frame_windows())) == 19
    many = everything()
    assert one["regions"] == many["regions"]
    for a, b in zip(one["samples"], many["samples"], strict=True):
        assert a.names == b.names and a.units == b.units
        for field in ("time_s", "device_time_s", "values"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_equal(one["series"], many["series"])
    np.testing.assert_equal(one["mean"], many["mean"])
    assert one["checks"] == many["checks"]


def test_a_window_reads_with_the_session_regions(store, mat_session) -> None:
    sid, frames, times = mat_session
    s = store.session(sid)
    whole = s.samples()
    part = s.samples(t0=30.0, t1=31.0)  # two frames; their own mean would find other boxes
    keep = (times >= 30.0) & (times < 31.0)
    assert part.names == whole.names
    np.testing.assert_array_equal(part.values, whole.values[keep])


def test_person_regions_are_kept_logged_and_used(store, mat_session) -> None:
    sid, frames, _ = mat_session
    mine = [Region("left", 4, 9, 1, 4, "person").as_dict(),
            Region("right", 3, 10, 9, 14, "person").as_dict()]
    kept = store.set_mat_regions(sid, mine)
    assert kept == mine
    s = store.session(sid)
    assert s.info.conversion["mat_regions"] == mine
    assert s.edits()[-1].field == "conversion"
    assert s.edits()[-1].new["mat_regions"] == mine
    samples = s.samples()
    want = expected_channels(frames, {"left": (4, 9, 1, 4), "right": RIGHT})
    np.testing.assert_allclose(samples.values[:, 0], want["left"], rtol=1e-12)
    store.set_mat_regions(sid, None)
    s = store.session(sid)
    assert "mat_regions" not in s.info.conversion
    assert {r.name: (r.r0, r.r1, r.c0, r.c1) for r in s.mat_regions()}["left"] == LEFT
    assert len(s.edits()) == 2


@pytest.mark.parametrize("bad", [
    [{"name": "left", "r0": 0, "r1": 13, "c0": 0, "c1": 2}],  # outside a 12-row mat
    [{"name": "a", "r0": 0, "r1": 5, "c0": 0, "c1": 5}, {"name": "b", "r0": 4, "r1": 6,
                                                          "c0": 4, "c1": 6}],  # overlap
    [{"name": "total", "r0": 0, "r1": 2, "c0": 0, "c1": 2}],
    [{"name": "left", "r0": 0}],
])
def test_bad_regions_are_refused_and_nothing_changes(store, mat_session, bad) -> None:
    sid = mat_session[0]
    with pytest.raises(StoreError, match=f"session {sid}"):
        store.set_mat_regions(sid, bad)
    s = store.session(sid)
    assert "mat_regions" not in s.info.conversion and s.edits() == []


def test_load_cell_sessions_have_no_regions(local, backend) -> None:
    sid = made(local, SessionMeta(), load_profile("hx711-arduino"))
    store = backend.store(local)
    with pytest.raises(StoreError, match="not a pressure-mat session"):
        store.set_mat_regions(sid, [Region("left", 0, 1, 0, 1).as_dict()])


def test_mat_facts_and_series_against_numpy(store, mat_session) -> None:
    sid, frames, _ = mat_session
    s = store.session(sid)
    facts = mat_facts(s)
    loaded = frames > 3
    area = loaded.sum(axis=(1, 2)) * 0.8  # cm² per sensel: 10 mm x 8 mm
    assert facts["contact_area_cm2"]["mean"] == pytest.approx(area.mean())
    assert facts["contact_area_cm2"]["max"] == pytest.approx(area.max())
    assert facts["peak"]["max"] == pytest.approx(frames.max() * 0.5)
    assert facts["flagged_out_of_range"] == 1
    assert facts["regions_from"] == "found" and [r["name"] for r in facts["regions"]] == [
        "left", "right"]
    w = np.where(loaded, frames.astype(float), 0.0)
    col = (w.sum(axis=1) * np.arange(COLS)).sum(axis=1) / w.sum(axis=(1, 2))
    x_mm = -(col - (COLS - 1) / 2) * 8.0  # image-left is the patient's left: x grows leftward
    assert facts["cop"]["x_mm"]["mean"] == pytest.approx(x_mm.mean())
    series = mat_series(s, 10.0, 20.0)
    assert series.time_s.size == 20
    np.testing.assert_allclose(series.whole.cop_x_mm, x_mm[20:40], rtol=1e-12)


def test_live_payload_downsamples_and_reports_measures() -> None:
    profile = parse_profile(MAT_TOML.replace(f"rows = {ROWS}", "rows = 13"), "m.toml")
    matrix = profile.matrix
    assert matrix is not None
    frame = np.zeros((13, COLS))
    frame[4:9, 1:6] = 100.0
    frame[12, 15] = np.nan
    block = FrameBlock.build(np.stack([np.zeros((13, COLS)), frame]), np.array([1.0, 2.0]))
    regions = [Region("left", 4, 9, 1, 6), Region("right", 3, 10, 9, 14)]
    p = live_payload(block, matrix, regions, max_side=8)
    assert (p["factor"], p["rows"], p["cols"], p["full_rows"]) == (2, 7, 8, 13)
    assert len(p["values"]) == 7 * 8 and p["values"][-1] is None
    grid = np.array([np.nan if v is None else v for v in p["values"]]).reshape(7, 8)
    assert grid[2, 1] == 100.0 and grid[2, 0] == 50.0  # rows 4-5, cols 2-3; cols 0-1 half empty
    assert p["host_time"] == 2.0 and p["total"] is None  # a missing sensel: the total is unknown
    assert p["cop"] is None
    json.dumps(p, allow_nan=False)
    frame[12, 15] = 0.0
    p = live_payload(FrameBlock.build(frame[None], 3.0), matrix, regions)
    newtons = 25 * 100 * 0.5 * 1000 * 80e-6
    assert p["factor"] == 1 and p["regions"][0]["total"] == pytest.approx(newtons)
    assert p["regions"][1]["total"] == 0.0 and p["total"] == pytest.approx(newtons)
    assert p["cop"]["row"] == pytest.approx(6.0) and p["cop"]["col"] == pytest.approx(3.0)


# -- import -----------------------------------------------------------------------------------


def kitronyx_rows() -> tuple[np.ndarray, np.ndarray]:
    """The Kitronyx log read with the csv module: (device time s, (n, 48, 48) values)."""
    with open(KITRONYX, newline="") as fh:
        rows = list(csv.reader(fh))
    data = [[float(c) for c in r if c.strip()] for r in rows[1:] if r]
    arr = np.array(data)
    return arr[:, 0], arr[:, 1:].reshape(-1, 48, 48)


def test_kitronyx_log_imports_identically_to_the_file(local, backend, monkeypatch) -> None:
    monkeypatch.setattr(importer, "BLOCK_BYTES", 1000)  # lines of 7 KB span many file blocks
    result = import_file(local, KITRONYX, load_profile("kitronyx-48x48-log"),
                         SessionMeta(subject_code="P-0002"))
    times, values = kitronyx_rows()
    s = backend.store(local).session(result.session_id)
    block = s.frames()
    np.testing.assert_array_equal(block.values, values)
    np.testing.assert_array_equal(block.device_time, times)
    np.testing.assert_allclose(block.host_time - s.info.t0_host, times - times[0], atol=1e-9)
    assert b"".join(d for _, d in s.raw()) == KITRONYX.read_bytes()
    assert result.timing == "device_time" and "from the device time column" in s.info.device
    assert s.info.counters["frames"] == 14 and s.info.counters["undecodable"] == 0
    assert reparse(s).identical
    assert s.samples().names[-1] == "total"


@pytest.mark.parametrize("path", HX711, ids=lambda p: p.name)
def test_hx711_logs_import_with_device_times(local, backend, path: Path) -> None:
    result = import_file(local, path, load_profile("hx711-arduino-1ch"), SessionMeta())
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh)][1:]
    millis = np.array([float(r[0]) for r in rows])
    grams = np.array([float(r[1]) for r in rows])
    s = backend.store(local).session(result.session_id)
    block = s.frames()
    np.testing.assert_array_equal(block.values[:, 0], grams)
    np.testing.assert_allclose(block.host_time, (millis - millis[0]) / 1000.0, atol=1e-9)
    np.testing.assert_allclose(s.samples().values[:, 0], grams * 9.80665e-3, rtol=1e-12)
    assert reparse(s).identical and result.reads == len(rows) + 1


def test_a_file_without_device_time_gets_uniform_times(local, backend, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 60000, (40, 16, 16))
    path = tmp_path / "mat.bin"
    path.write_bytes(b"\x01\x02" + b"".join(encode_m1616(f) for f in frames) + b"\xaa\xab")
    result = import_file(local, path, load_profile("m1616"), SessionMeta())
    s = backend.store(local).session(result.session_id)
    block = s.frames()
    np.testing.assert_array_equal(block.values, frames)
    np.testing.assert_allclose(block.host_time, np.arange(40) / 20.0)  # nominal 20 frames/s
    assert result.timing == "uniform" and "uniform at 20 frames/s" in s.info.device
    assert s.info.counters["undecodable"] == 1  # the two stray bytes in front
    warnings = [e for e in s.events() if e.kind == "warning"]
    assert len(warnings) == 1 and warnings[0].data["bytes"] == 2  # the cut-off header at the end
    assert reparse(s).identical


def test_bad_lines_are_counted_flagged_and_a_cut_last_line_is_kept_raw(
        local, backend, tmp_path: Path) -> None:
    text = KITRONYX.read_bytes().splitlines(keepends=True)
    header, lines = text[0], text[1:]
    short = b",".join(lines[2].split(b",")[:-5]) + b"\n"  # five values missing
    hot = lines[3].replace(b",0,", b",300,", 1)  # a value above raw_max 255
    assert hot != lines[3]
    body = [lines[0], lines[1], short, hot, lines[4], lines[5].rstrip(b"\n")]
    path = tmp_path / "bad.csv"
    path.write_bytes(header + b"".join(body))
    result = import_file(local, path, load_profile("kitronyx-48x48-log"), SessionMeta())
    s = backend.store(local).session(result.session_id)
    block = s.frames()
    assert len(block) == 4  # the short line is not reshaped; the cut-off last line not decoded
    assert list(block.flags) == [0, 0, FLAG_OUT_OF_RANGE, 0]
    assert block.values.max() == 300  # kept, never clipped
    c = s.info.counters
    assert (c["wrong_size"], c["out_of_range"]) == (1, 1)
    kinds = [e.kind for e in s.events()]
    assert {"wrong_size", "out_of_range", "warning"} <= set(kinds)
    assert result.unfinished_bytes == len(lines[5]) - 1
    assert b"".join(d for _, d in s.raw()) == path.read_bytes()
    assert reparse(s).identical


def test_a_device_clock_going_back_keeps_times_in_order(local, backend, tmp_path: Path) -> None:
    lines = [b"Times,Measures\n"] + [f"{t},{g}.0\n".encode() for t, g in
                                      [(100, 1), (200, 2), (300, 3), (50, 4), (150, 5)]]
    path = tmp_path / "restart.csv"
    path.write_bytes(b"".join(lines))
    result = import_file(local, path, load_profile("hx711-arduino-1ch"), SessionMeta())
    s = backend.store(local).session(result.session_id)
    t = s.frames().host_time
    # After the restart the clock carries on one nominal frame period (1/10.5 s) later, to the
    # microsecond (an import's arrival times are whole microseconds, as a live read's are).
    np.testing.assert_allclose(t, [0.0, 0.1, 0.2, 0.2 + 1 / 10.5, 0.3 + 1 / 10.5], rtol=0,
                               atol=0.5e-6)
    assert t.tolist() == (np.rint(t * 1e6) * 1e-6).tolist()
    assert any(e.kind == "warning" and "clock went back" in e.text for e in s.events())
    assert reparse(s).identical


def test_import_errors_are_one_line(local, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot read") as err:
        import_file(local, tmp_path / "nope.csv", load_profile("m1616"), SessionMeta())
    assert "\n" not in str(err.value)
    path = tmp_path / "noclock.txt"
    path.write_bytes(b"Reading: 12\nReading: 13\n")
    no_rate = parse_profile(load_profile("nau7802-arduino").source.replace(
        "nominal_rate_hz = 10\n", ""), "no-rate.toml")
    with pytest.raises(ProfileError, match="--rate"):
        import_file(local, path, no_rate, SessionMeta())
    result = import_file(local, path, no_rate, SessionMeta(), rate_hz=4.0)
    assert result.timing == "uniform" and result.rate_hz == 4.0
