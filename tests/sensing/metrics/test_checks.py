"""The practitioner's checks: calibration age, zero drift from the tare, saturation, tare steadiness
— sessions recorded from the simulator through the bridge into a real store file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware_bridge.errors import CalibrationError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from firmware_bridge.sim import LoadcellDevice, loadcell_model, parse_sim_url
from sensing.calibration.tare import tare_offsets, with_tare
from sensing.metrics.checks import (
    HX711_LIMITS,
    calibration_age,
    max_age_days,
    saturation,
    session_checks,
    zero_drift,
)
from sensing.store.sessions import Store
from tests.recording import record_frames

G = 9.80665


def record(store: Store, url: str, frames: int, tare_frames: int = 0) -> int:
    """Record ``frames`` frames of ``url`` through the bridge; tare on the first ones."""
    sid, got = record_frames(store, url, "sim-loadcells", frames)
    if tare_frames:
        head = FrameBlock.concat(got)
        first = FrameBlock(*(getattr(head, k)[:tare_frames] for k in
                             ("values", "host_time", "device_time", "seq", "flags")))
        tare = tare_offsets(first, load_profile("sim-loadcells").channel_names)
        store.set_conversion(sid, with_tare(store.session(sid).info.conversion, tare))
    return sid


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "checks.sqlite3")


def test_calibration_age_against_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    conv = {"calibration": {"channels": {
        "left": {"id": 3, "created_utc": (now - timedelta(days=40)).isoformat()},
        "right": {"id": 4, "created_utc": (now - timedelta(days=10)).isoformat()}}}}
    found = {f.channel: f for f in calibration_age(conv, now)}
    assert found["left"].warn and "40 days old" in found["left"].text
    assert "calibrate again" in found["left"].text
    assert not found["right"].warn and found["right"].data["age_days"] == pytest.approx(10)
    monkeypatch.setenv("SOTLOG_CAL_MAX_AGE_DAYS", "5")
    assert max_age_days() == 5.0
    assert all(f.warn for f in calibration_age(conv, now))
    assert not any(f.warn for f in calibration_age(conv, now, limit_days=100))
    monkeypatch.setenv("SOTLOG_CAL_MAX_AGE_DAYS", "soon")
    with pytest.raises(CalibrationError, match="SOTLOG_CAL_MAX_AGE_DAYS"):
        max_age_days()
    monkeypatch.delenv("SOTLOG_CAL_MAX_AGE_DAYS")
    assert calibration_age({}, now) == []


def test_saturation_counts_frames_at_the_converters_limit(store: Store) -> None:
    # 5e5 counts per kg on the left: 20 kg would be 1e7 counts, past the 24-bit end.
    url = ("sim://loadcells?blocks=2&rate=80&protocol=lines&seed=2&speed=20&gain=5e5,2e4"
           "&load=steps:0,20&hold=1&noise=30")
    sid = record(store, url, 480)
    session = store.session(sid)
    raw = session.frames().values
    found = {f.channel: f for f in saturation(session.frames(), session.info.profile)}
    at_top = int((raw[:, 0] >= HX711_LIMITS[1]).sum())
    assert at_top > 100  # half the frames are under 20 kg
    assert found["left"].warn and found["left"].data["frames"] == at_top
    assert f"{at_top} of {len(raw)} frames" in found["left"].text
    assert not found["right"].warn and found["right"].data["frames"] == 0


def test_zero_drift_before_and_after_the_load(store: Store) -> None:
    # seed=1 matches the sim-loadcells profile's scale; the zero creeps 60000 counts a minute.
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=4&session=20&drift=60000"
    sid = record(store, url, 80 * 22, tare_frames=32)
    session = store.session(sid)
    found = {f.channel: f for f in zero_drift(session)}
    model = loadcell_model(url)
    boot = LoadcellDevice(parse_sim_url(url)[1]).boot_us // 1000 / 1000
    frames = session.frames()
    t_sim = frames.device_time - boot
    time_s = frames.host_time - session.info.t0_host
    for j, name in enumerate(("left", "right")):
        f = found[name]
        assert f.data["has_zero"] and f.data["unit"] == "N"
        scale = session.info.profile.channels[j].scale  # kg per count
        # What the creep alone predicts over the last second: drift since the tare window.
        last = time_s >= time_s[-1] - 1.0
        since = model.drift[j] * (t_sim[last].mean() - t_sim[:32].mean()) / 60.0
        assert f.data["end"] == pytest.approx(since * scale * G, rel=0.05)
        assert abs(f.data["end"]) > 5.0 and f.warn and "tare again" in f.text
        assert abs(f.data["start"]) < abs(f.data["end"])


def test_session_checks_judge_age_at_the_start(store: Store) -> None:
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=20&session=20"
    sid = record(store, url, 160)
    started = store.session(sid).info.started_utc
    old = (datetime.fromisoformat(started) - timedelta(days=45)).isoformat()
    conv = {"calibration": {"channels": {"left": {"id": 1, "fit": "linear", "coef": [0, 1e-3],
                                                  "zero_raw": 0.0, "created_utc": old}}}}
    store.set_conversion(sid, conv)
    checks = session_checks(store.session(sid))
    kinds = {(f.check, f.channel) for f in checks}
    assert {("calibration_age", "left"), ("zero_drift", "left"), ("zero_drift", "right"),
            ("saturation", "left"), ("saturation", "right")} <= kinds
    age = next(f for f in checks if f.check == "calibration_age")
    assert age.warn and age.data["age_days"] == pytest.approx(45, abs=0.01)
