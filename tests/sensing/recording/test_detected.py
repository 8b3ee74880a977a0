"""Detected events on stored sessions in a real store: ``detect`` run twice, a person's confirm,
move and delete through the edit log and their undo, imported real recordings."""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.errors import StoreError
from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.sim.loadcells import LoadcellDevice
from firmware_bridge.sim.options import parse_sim_url
from firmware_bridge.sim.scenario import BodySession
from sensing.metadata import SessionMeta
from sensing.recording import detected
from sensing.recording.revise import undo
from sensing.recording.service import RecordingService
from sensing.store import read
from sensing.store.importer import import_file
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.firmware_bridge.test_real_recordings import FORCEPLATE, KITRONYX
from tests.firmware_bridge.test_real_recordings import HX711 as HX711_G

REPO = Path(__file__).resolve().parents[3]
REAL = REPO / "fixtures" / "real"
T0 = 100.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "detect.sqlite3")


def record_sim(store: Store, seconds: float = 40.0) -> tuple[int, BodySession]:
    """One simulated cycle (sim://loadcells seed=1, read by the sim-loadcells profile, which
    holds that seed's true scale) stored as a recording would store it; and its true times."""
    _, config = parse_sim_url(f"sim://loadcells?seed=1&session={seconds:g}&drift=0")
    device = LoadcellDevice(config)  # type: ignore[arg-type]
    device_us, counts = device.samples(0, int(80 * seconds))
    t = (device_us - device.boot_us) / 1e6
    sid = store.create_session(SessionMeta(subject_code="P-0042"), load_profile("sim-loadcells"),
                               t0_host=T0)
    rec = Recorder(store, sid, flush_interval=0.05)
    for a in range(0, t.size, 40):
        b = min(t.size, a + 40)
        rec.on_frames(FrameBlock.build(counts[a:b].astype(np.float64), T0 + t[a:b],
                                       device_us[a:b] / 1e6, np.arange(a, b)))
    rec.close(counters=Counters(frames=t.size))
    assert rec.error is None
    script = device.model.script
    assert isinstance(script, BodySession)
    return sid, script


def detected_events(store: Store, sid: int) -> list[tuple[str, float, str]]:
    with store.session(sid) as s:
        return [(e.kind, round(e.time_s, 6), e.source) for e in s.events()
                if detected.is_detected(e)]


def test_detect_finds_the_truth_and_a_second_run_changes_nothing(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    sid, truth = record_sim(store)
    person = store.add_event(sid, "placed", "pressed P", time_s=3.0)
    monkeypatch.setattr(read, "WINDOW_BYTES", 8 * 2 * 333)  # windows of 333 frames
    first = detected.detect(store, sid)
    assert [d["kind"] for d in first.found] == ["placed", "settled", "removed"]
    assert first.added == 3 and first.replaced == 0 and first.edit_id is not None
    events = detected_events(store, sid)
    assert abs(events[0][1] - truth.t_on) <= 0.25
    assert abs(events[2][1] - (truth.t_off + truth.remove)) <= 0.25
    monkeypatch.setattr(read, "WINDOW_BYTES", 8 << 20)  # other windows, the same events
    again = detected.detect(store, sid)
    assert again.edit_id is None and detected_events(store, sid) == events
    with store.session(sid) as s:
        (mine,) = [e for e in s.events() if e.id == person]  # a person's event is never touched
        assert mine.source == "person" and mine.text == "pressed P"
        (edit,) = s.edits()
        assert edit.reason == "sotlog detect" and "replaced" not in edit.text
        assert edit.text.startswith("Events put in: placed at")


def test_confirm_move_delete_are_edits_that_undo_and_that_detect_keeps(store: Store) -> None:
    sid, _ = record_sim(store)
    detected.detect(store, sid)
    with store.session(sid) as s:
        placed, settled, removed = [e for e in s.events() if detected.is_detected(e)]
    detected.confirm(store, sid, placed.id)
    detected.move(store, sid, removed.id, removed.time_s - 1.0)
    detected.delete(store, sid, settled.id)
    with store.session(sid) as s:
        by_id = {e.id: e for e in s.events()}
        texts = [e.text for e in s.edits()]
    assert "confirmed_utc" in by_id[placed.id].data
    assert by_id[removed.id].time_s == pytest.approx(removed.time_s - 1.0)
    assert by_id[removed.id].data["detected_s"] == removed.data["detected_s"]
    assert settled.id not in by_id
    assert texts[1:] == [f"Event placed at {placed.time_s:.2f} s confirmed",
                         f"Event removed moved from {removed.time_s:.2f} s to "
                         f"{removed.time_s - 1.0:.2f} s",
                         f"Events taken out: settled at {settled.time_s:.2f} s"]
    # the rule run again leaves what the person decided as the person left it
    rerun = detected.detect(store, sid)
    assert rerun.edit_id is None and len(rerun.kept) == 2
    kept = detected_events(store, sid)
    assert [k for k, _, _ in kept] == ["placed", "removed"]
    # undo, newest first: the settled comes back with its id, the removed goes back in place
    undo(store, sid)
    undo(store, sid)
    with store.session(sid) as s:
        by_id = {e.id: e for e in s.events()}
    assert by_id[settled.id].time_s == pytest.approx(settled.time_s)
    assert by_id[removed.id].time_s == pytest.approx(removed.time_s)
    assert "moved_utc" not in by_id[removed.id].data
    assert detected.detect(store, sid).edit_id is None  # the settled is there again, unchanged


def test_only_detected_events_are_confirmed_and_moves_stay_in_the_session(store: Store) -> None:
    recording = store.create_session(SessionMeta(), load_profile("sim-loadcells"))
    with pytest.raises(StoreError, match="still recording: its events are being detected live"):
        detected.detect(store, recording)
    sid, _ = record_sim(store, 20.0)
    person = store.add_event(sid, "placed", time_s=2.0)
    with pytest.raises(StoreError, match="person's placed, not one sotlog detected"):
        detected.delete(store, sid, person)
    with pytest.raises(StoreError, match="has no event 999"):
        detected.confirm(store, sid, 999)
    detected.detect(store, sid)
    with store.session(sid) as s:
        first = next(e for e in s.events() if detected.is_detected(e))
    with pytest.raises(StoreError, match="cannot be moved to 99"):
        detected.move(store, sid, first.id, 99.0)
    detected.confirm(store, sid, first.id)
    with pytest.raises(StoreError, match="already confirmed"):
        detected.confirm(store, sid, first.id)


def _import(store: Store, name: str, toml: str) -> int:
    profile = parse_profile(toml, f"{name}.toml")
    return import_file(store, REAL / name, profile, SessionMeta(subject_code="P-0001")).session_id


@pytest.mark.parametrize(("name", "toml", "kinds"), [
    # an unloaded cell swinging ±90 g: never near the 10 N placed level
    ("hx711_arduino_9600_log22.csv", HX711_G, []),
    ("hx711_arduino_9600_log24.csv", HX711_G, []),
    # quiet standing on two plates for 60 s: loaded from the first sample, never taken off
    ("forceplate_lr_100hz.tsv", FORCEPLATE, ["settled"]),
])
def test_real_recordings_give_plausible_and_stable_events(
        store: Store, name: str, toml: str, kinds: list[str]) -> None:
    sid = _import(store, name, toml)
    first = detected.detect(store, sid)
    assert [d["kind"] for d in first.found] == kinds
    with store.session(sid) as s:
        duration = s.info.duration_s
    assert all(0 <= d["time_s"] <= duration for d in first.found)
    assert detected.detect(store, sid).edit_id is None


def test_a_real_mat_recording(store: Store) -> None:
    """Fourteen frames of a 48x48 mat a second apart, no unit of force: whatever the rule finds
    lies in the session, and running it again finds the same."""
    sid = _import(store, "kitronyx_48x48_adc.csv", KITRONYX)
    first = detected.detect(store, sid)
    with store.session(sid) as s:
        duration = s.info.duration_s
    assert all(0 <= d["time_s"] <= duration and d["data"]["unit"] != "N" for d in first.found)
    assert detected.detect(store, sid).edit_id is None


def test_live_detection_in_a_sim_recording_within_a_second(store: Store) -> None:
    """sim://loadcells at double speed through the recording service: each event reaches the
    faces (the service's hooks) within about a second of the change and is stored with source
    sotlog; placed and removed lie within 0.25 s of the simulator's true times."""
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&session=20&speed=2&drift=0"
    _, config = parse_sim_url(url)
    device = LoadcellDevice(config)  # type: ignore[arg-type]
    truth = device.model.script
    assert isinstance(truth, BodySession)
    told: queue.SimpleQueue[tuple[float, dict[str, Any]]] = queue.SimpleQueue()
    service = RecordingService(store, face="test")
    service.on_event(lambda e: told.put((time.monotonic(), e)))
    try:
        service.connect(url, "sim-loadcells")
        sid = service.start(SessionMeta(subject_code="P-0042"))
        heard: dict[str, tuple[float, dict[str, Any]]] = {}
        deadline = time.monotonic() + 40.0
        while "removed" not in heard:
            arrived, event = told.get(timeout=max(0.1, deadline - time.monotonic()))
            heard.setdefault(event["kind"], (arrived, event))
        service.stop(reason="test")
    finally:
        service.close()
    assert list(heard) == ["placed", "settled", "removed"]
    for kind in ("placed", "removed"):  # hold_s after the crossing, on the host clock
        arrived, event = heard[kind]
        assert arrived - (event["host_time"] + event["data"]["found_s"]
                          - event["data"]["detected_s"]) < 0.5
        assert event["data"]["found_s"] - event["data"]["detected_s"] < 1.5
    with store.session(sid) as s:
        stored = [e for e in s.events() if detected.is_detected(e)]
        frames = s.frames()
    assert [e.kind for e in stored] == ["placed", "settled", "removed"]
    assert all(e.source == "sotlog" and e.data["rule"]["hold_s"] == 0.5 for e in stored)
    sim_s = frames.device_time - device.boot_us / 1e6  # the device clock runs on sim time
    for e, true_s in ((stored[0], truth.t_on), (stored[2], truth.t_off + truth.remove)):
        same_read = sim_s[frames.host_time == e.host_time]  # frames stamped with one read
        assert same_read.min() - 0.25 <= true_s <= same_read.max() + 0.25


def test_a_mat_session_is_read_through_its_block_channels(store: Store) -> None:
    """A mat (the store tests' 12x16 kPa mat) loaded on both blocks from 5 s to 15 s, and a
    stray sensel outside them loaded all along: detection sums the blocks, not the whole mat."""
    from tests.sensing.store.test_mat_session import COLS, LEFT, RIGHT, ROWS, record_mat

    times = np.arange(0.0, 20.0, 0.05)
    frames = np.zeros((times.size, ROWS, COLS), np.uint16)
    on = (times >= 5.0) & (times < 15.0)
    for (r0, r1, c0, c1), level in ((LEFT, 200), (RIGHT, 120)):
        frames[on, r0:r1, c0:c1] = level
    frames[:, 0, 15] = 900  # in the whole mat's total, outside both blocks
    sid = record_mat(store, frames, times)
    result = detected.detect(store, sid)
    kinds = {d["kind"]: d for d in result.found}
    assert list(kinds) == ["placed", "settled", "removed"]
    assert abs(kinds["placed"]["time_s"] - 5.0) <= 0.25
    assert abs(kinds["removed"]["time_s"] - 15.0) <= 0.25
    assert kinds["placed"]["data"]["unit"] == "N"
