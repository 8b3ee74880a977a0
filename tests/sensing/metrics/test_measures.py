"""Each descriptive measure against a case computed by hand, and a stored session's measures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import Block, SessionMeta
from sensing.metrics import formulas as fx
from sensing.metrics.measures import (
    BOTH,
    ON_BLOCKS,
    SESSION,
    SessionMeasures,
    placement_spans,
    session_measures,
)
from sensing.store.matread import mat_series
from sensing.store.records import Event
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

DOCS = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"
# One newton per count, no offset: stored counts read as the forces written here.
NEWTON_PROFILE = """name = "newton-cells"
protocol = "lines"
description = "two cells already in newtons (a test profile)"
nominal_rate_hz = 10
[serial]
baudrate = 115200
[options]
delimiter = ","
[[channels]]
name = "a"
column = 0
unit = "N"
[[channels]]
name = "b"
column = 1
unit = "N"
"""
T0 = 1000.0


def test_mean_peak_and_sd() -> None:
    x = np.array([2, 4, 4, 4, 5, 5, 7, 9, np.nan], float)  # the textbook case: mean 5, SD 2
    assert fx.mean(x) == 5.0
    assert fx.peak(x) == 9.0
    assert fx.sd(x) == 2.0
    assert fx.mean(np.array([np.nan])) is None


def test_force_time_integral_stops_at_gaps_and_missing_values() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.5, 4.0, 4.5, 5.0])
    f = np.array([0.0, 10.0, 10.0, 20.0, 20.0, np.nan, 30.0])
    # 0.5*(0+10)*1 + 0.5*(10+10)*1 + [2 -> 3.5: a 1.5 s gap] + 0.5*(20+20)*0.5 + [NaN steps]
    assert fx.force_time_integral(t, f) == pytest.approx(5 + 10 + 10)
    assert fx.unbridged(t) == (1, 1.5)


def test_shares_and_symmetry_index() -> None:
    assert fx.share(40.0, 100.0) == 40.0
    assert fx.share(1.0, 0.0) is None
    assert fx.symmetry_index(60.0, 40.0) == pytest.approx(40.0)  # (60-40)/(0.5*100)*100
    assert fx.symmetry_index(40.0, 60.0) == pytest.approx(-40.0)
    assert fx.symmetry_index(0.0, 0.0) is None


def test_cop_path_and_velocity() -> None:
    t = np.array([0.0, 1.0, 2.0, 4.0, 4.5])
    x = np.array([0.0, 3.0, 6.0, 100.0, 100.0])
    y = np.array([0.0, 4.0, 8.0, 100.0, 106.0])
    # 5 + 5 mm over 2 s, the 2 s gap passed over, then 6 mm in 0.5 s: 16 mm in 2.5 s
    length, speed = fx.cop_path(t, x, y)
    assert length == pytest.approx(16.0)
    assert speed == pytest.approx(16.0 / 2.5)


def test_prediction_ellipse_area() -> None:
    x = np.array([-1.0, 1.0, -1.0, 1.0])
    y = np.array([-1.0, -1.0, 1.0, 1.0])
    # cov = diag(4/3, 4/3): sqrt(det) = 4/3; chi2(0.95, 2) = -2 ln 0.05 = 5.9915
    assert abs(fx.CHI2_2DOF_95 - 5.991465) < 1e-6
    assert fx.ellipse_area(x, y) == pytest.approx(math.pi * 5.991465 * 4 / 3, rel=1e-6)
    assert fx.ellipse_area(x[:2], y[:2]) is None


def test_force_oscillation_finds_the_component_and_its_amplitude() -> None:
    t = np.arange(0.0, 120.0, 1 / 80)
    f = 500.0 + 0.5 * t + 20.0 * np.sin(2 * np.pi * 0.25 * t)  # drift plus 15 cycles/min
    per_min, amplitude = fx.oscillation(t, f)
    assert per_min == pytest.approx(15.0, abs=0.1)
    assert amplitude == pytest.approx(20.0, rel=0.01)
    short = t < 20.0  # under 30 s: too short to say
    assert fx.oscillation(t[short], f[short]) == (None, None)


def test_oscillation_takes_the_longest_stretch_without_a_gap() -> None:
    t = np.r_[np.arange(0.0, 10.0, 0.1), np.arange(15.0, 75.0, 0.1)]
    f = 20.0 * np.sin(2 * np.pi * 0.5 * t)
    per_min, amplitude = fx.oscillation(t, f)
    assert per_min == pytest.approx(30.0, abs=0.2)
    assert amplitude == pytest.approx(20.0, rel=0.02)


def ev(kind: str, t: float, source: str = "person") -> Event:
    return Event(0, 1, t, T0 + t, kind, "", {}, source)


def test_placement_spans_pair_placed_with_removed_whoever_marked_them() -> None:
    spans, note = placement_spans([ev("placed", 4.0, "sotlog"), ev("placed", 4.2),
                                   ev("removed", 60.0), ev("removed", 60.1, "sotlog"),
                                   ev("placed", 80.0)])
    assert spans == [(4.0, 60.0)]
    assert "placed 4.0 s to removed 60.0 s" in note and "80.0 s has no removed" in note
    assert placement_spans([ev("note", 1.0)]) == (
        [], "no placed and removed events: whole-session values only")
    assert placement_spans([ev("placed", 1.0)])[0] == []


def newton_session(store: Store, tmp: Path, events: list[tuple[str, float]]) -> int:
    """70 s at 10 frames/s: a = 300 N and b = 200 N from 10 s to 60 s, 0 N before and after."""
    path = tmp / "newton-cells.toml"
    path.write_text(NEWTON_PROFILE)
    meta = SessionMeta(subject_code="P-0042", blocks=[
        Block(side="left", landmark="iliac_crest", channel="a"),
        Block(side="right", landmark="acetabulum", channel="b")])
    sid = store.create_session(meta, load_profile(str(path)), t0_host=T0)
    rec = Recorder(store, sid)
    t = np.round(np.arange(0.0, 70.0, 0.1), 6)
    on = (t >= 10.0) & (t <= 60.0)
    rec.on_frames(FrameBlock.build(np.column_stack([300.0 * on, 200.0 * on]), T0 + t))
    for kind, at in events:
        rec.add_event(kind, "", host_time=T0 + at)
    rec.close("complete", counters=Counters(frames=len(t)))
    return sid


def values(m: SessionMeasures, subject: str, name: str) -> dict[str, float | None]:
    return {x.window: x.value for x in m.measures if x.subject == subject and x.name == name}


def test_a_stored_session_measured_between_placed_and_removed(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    sid = newton_session(store, tmp_path, [("placed", 10.0), ("removed", 60.0)])
    m = session_measures(store.session(sid))
    assert m.windows == [SESSION, ON_BLOCKS]
    assert values(m, "a", "mean")[ON_BLOCKS] == pytest.approx(300.0)
    assert values(m, "a", "mean")[SESSION] == pytest.approx(300.0 * 501 / 700)
    assert values(m, "a", "force-time integral")[ON_BLOCKS] == pytest.approx(300.0 * 50)
    # the whole session adds the half steps of the ramps at 9.9-10.0 s and 60.0-60.1 s
    assert values(m, BOTH, "force-time integral")[SESSION] == pytest.approx(500.0 * 50.1)
    assert values(m, BOTH, "left share")[ON_BLOCKS] == pytest.approx(60.0)
    assert values(m, "b", "share of the blocks")[ON_BLOCKS] == pytest.approx(40.0)
    assert values(m, BOTH, "symmetry index")[ON_BLOCKS] == pytest.approx(-40.0)
    assert values(m, BOTH, "time on the blocks") == {SESSION: pytest.approx(50.1),
                                                      ON_BLOCKS: pytest.approx(50.0)}
    assert values(m, "a", "SD")[ON_BLOCKS] == pytest.approx(0.0)
    assert m.subjects == {"a": "a (left)", "b": "b (right)", BOTH: "both blocks"}
    for x in m.measures:  # every measure carries what it is
        assert x.name and x.unit and x.window in (SESSION, ON_BLOCKS)
        assert x.formula in fx.FORMULAS


def test_a_session_without_placed_and_removed_says_so(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    m = session_measures(store.session(newton_session(store, tmp_path, [])))
    assert m.windows == [SESSION]
    assert "whole-session values only" in m.note
    assert {x.window for x in m.measures} == {SESSION}
    assert m.as_dict()["windows"] == [{"key": SESSION, "label": "whole session", "spans": []}]


def test_docs_give_every_formula() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "## Descriptive measures" in text
    for key in fx.FORMULAS:
        assert f"`{key}`" in text, f"docs/metrics.md does not give formula {key}"


def test_a_mat_session_adds_contact_area_peak_and_the_centre_of_pressure(tmp_path: Path) -> None:
    """One loaded sensel (raw 100) stepping a column per frame: each step is one 15 mm pitch."""
    store = Store.open(tmp_path / "s.sqlite3")
    sid = store.create_session(SessionMeta(), load_profile("sim-mat"), t0_host=T0)
    frames = np.zeros((3, 32, 32), np.uint16)
    for k in range(3):
        frames[k, 10, 10 + k] = 100
    rec = Recorder(store, sid)
    rec.on_frames(FrameBlock.build(frames, T0 + np.array([0.0, 0.1, 0.2])))
    rec.close("complete", counters=Counters(frames=3))
    m = session_measures(store.session(sid))
    assert m.subjects[BOTH] == "whole mat"
    got = {x.name: (x.value, x.unit) for x in m.measures if x.window == SESSION}
    assert got["contact area"] == (pytest.approx(2.25), "cm²")  # one 15 x 15 mm sensel
    assert got["peak sensel value"] == (100.0, "raw")  # the mat's unit is not a pressure
    assert got["CoP path length"] == (pytest.approx(30.0), "mm")
    assert got["CoP mean velocity"] == (pytest.approx(150.0), "mm/s")
    # x = (-15, 0, 15) mm, y constant: det(cov) = 0, so no area
    assert got["CoP 95 % ellipse area"] == (pytest.approx(0.0), "mm²")

    # the mat measures come from what the close derived: the same as the frames give
    session = store.session(sid)
    derived, frames = session.mat_derived().whole, mat_series(session).whole
    for name in ("cop_x_mm", "cop_y_mm", "contact_area_cm2", "peak"):
        np.testing.assert_array_equal(derived[name], getattr(frames, name))
    assert session_measures(session, samples=session.samples()).measures == m.measures
