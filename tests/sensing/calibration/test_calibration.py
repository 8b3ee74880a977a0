"""Calibration on the real path: the simulator's known gain and offset through the bridge, settle
detection on a step load, records in a real store file, tare, recalibration, mats on a pty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import CalibrationError, StoreError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.protocols.blockframe import encode_frame
from firmware_bridge.sim import LoadcellDevice, loadcell_model, parse_sim_url
from sensing.calibration.capture import FrameTap, Settler, SettleRule, assess, wait_steady
from sensing.calibration.conversion import Conversion
from sensing.calibration.fit import (
    Calibration,
    CalPoint,
    calibration_ids,
    fit_points,
    with_calibrations,
)
from sensing.calibration.gains import decode_gains, encode_gains
from sensing.calibration.procedures import (
    RunSpec,
    calibrate_loadcells,
    calibrate_mat_total,
    check_weights,
    equilibrate_mat,
)
from sensing.calibration.tare import tare_offsets, with_tare
from sensing.metadata import SessionMeta
from sensing.store.calibrations import CalibrationStore
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.ptydevice import PtyDevice

G = 9.80665
STEPS = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed={seed}&speed=20&drift=0" \
        "&load=steps:0,5,10,20&hold=2&noise=60"


class Scripted:
    """The guide of an unattended run: loads arrive on their own; what is said is kept."""

    scripted = True

    def __init__(self) -> None:
        self.said: list[str] = []

    def ask(self, text: str) -> None:
        raise AssertionError(f"a scripted run must not ask: {text}")

    def say(self, text: str) -> None:
        self.said.append(text)


def spec_for(url: str, profile_name: str = "sim-loadcells", weights: list[float] | None = None,
             fit: str = "linear", channels: list[str] | None = None) -> RunSpec:
    profile = load_profile(profile_name)
    return RunSpec(profile=profile, port=url, device="simulated", unit="kg", fit=fit, by="T",
                   weights=weights or [0.0, 5.0, 10.0, 20.0], rule=SettleRule(),
                   timeout=20.0, channels=channels or profile.channel_names)


def running(url: str, profile_name: str = "sim-loadcells") -> tuple[Bridge, FrameTap]:
    bridge = Bridge(url, load_profile(profile_name))
    tap = FrameTap()
    bridge.add_listener(tap)
    bridge.open_once()
    bridge.start()
    return bridge, tap


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "cal.sqlite3")


@pytest.fixture(scope="module")
def sim_calibrations() -> Iterator[tuple[str, list[Calibration], Scripted]]:
    url = STEPS.format(seed=7)
    bridge, tap = running(url)
    guide = Scripted()
    try:
        yield url, calibrate_loadcells(tap, spec_for(url), guide), guide
    finally:
        bridge.stop()


def test_fit_recovers_the_true_gain_and_offset(sim_calibrations) -> None:
    url, cals, guide = sim_calibrations
    model = loadcell_model(url)
    assert [c.channel for c in cals] == ["left", "right"]
    for j, cal in enumerate(cals):
        assert cal.fit is not None and len(cal.points) == 4 and cal.kind == "loadcell"
        n = cal.points[0].n
        se_mean = 60.0 / np.sqrt(n)  # one point's mean wanders this much with noise 60 RMS
        assert n >= 70
        # The zero is where the fit meets 0 N: within a few standard errors of the true offset.
        assert abs(cal.fit.zero_raw - model.offset[j]) < 5 * se_mean
        counts_per_kg = G / cal.fit.coef[1]
        # Four points spread over 20 kg of span: the slope is known to ~se/span relative.
        assert abs(counts_per_kg / model.gain[j] - 1) < 5 * se_mean / (20 * model.gain[j])
        assert cal.fit.coef[0] == pytest.approx(0.0, abs=1e-6)
        assert max(abs(r) for r in cal.fit.residuals_n) < 5 * se_mean * G / model.gain[j]
        assert cal.fit.nonlinearity_pct_fs < 0.01  # the simulated cell is linear
        for p, kg in zip(cal.points, (0, 5, 10, 20), strict=True):
            assert abs(p.raw_mean - (model.offset[j] + kg * model.gain[j])) < 5 * se_mean
            assert 0.7 * 60 < p.raw_sd < 1.3 * 60  # steady: only the sensor noise
    assert any("left: settled: " in s and " ± " in s and "over 1.0 s" in s for s in guide.said)


def test_records_round_trip_through_a_real_store(sim_calibrations, store: Store) -> None:
    _, cals, _ = sim_calibrations
    table = CalibrationStore(store)
    ids = table.add([Calibration.from_record(c.record()) for c in cals])
    assert len(ids) == 2 and ids[1] == ids[0] + 1
    again = CalibrationStore(Store.open(store.path)).get(ids[1])
    assert again.record() == {**cals[1].record(), "id": ids[1], "batch": ids[0],
                              "created_utc": again.created_utc}
    assert [c.channel for c in table.batch(ids[1])] == ["left", "right"]
    assert [c.id for c in table.latest("sim-loadcells", ["left", "right"])] == ids
    assert table.latest("other-profile", ["left"]) == []
    with pytest.raises(StoreError, match="no calibration 99"):
        table.get(99)


def test_settle_waits_out_a_step_load() -> None:
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=3&speed=20&drift=0" \
          "&load=steps:0,10&hold=3&noise=40"
    model = loadcell_model(url)
    bridge, tap = running(url, "sim-loadcells")
    try:
        pick = lambda v: np.asarray(v)[:, :1]  # noqa: E731
        first = wait_steady(tap, pick, SettleRule(), timeout=10)
        second = wait_steady(tap, pick, SettleRule(), timeout=10, differs_from=first.mean,
                             min_change=10 * first.noise)
    finally:
        bridge.stop()
    assert first.clock == "device" and first.all_settled
    # The device clock of sample 0 (the lines sketch prints whole milliseconds).
    boot = LoadcellDevice(parse_sim_url(url)[1]).boot_us // 1000 / 1000

    def step(t: float) -> int:
        """Which 3 s step device time ``t`` falls in: even ones hold 0 kg, odd ones 10 kg (the
        script repeats, so a test thread held up on a busy machine settles on a later one)."""
        return int((t - boot + 1e-6) // 3.0)

    # Each settled window lies wholly inside one step of its load: no frame of a step's edge.
    assert step(first.t_first) == step(first.t_last) and step(first.t_last) % 2 == 0
    assert abs(first.mean[0] - model.offset[0]) < 5 * 40 / np.sqrt(first.n)
    assert abs(second.mean[0] - model.offset[0] - 10 * model.gain[0]) < 5 * 40 / np.sqrt(
        second.n)
    assert step(second.t_first) == step(second.t_last) and step(second.t_last) % 2 == 1
    assert second.t_last - second.t_first < 1.0
    assert 0.8 * 40 < second.sd[0] < 1.2 * 40


def test_assess_tells_noise_from_a_step_and_a_ramp() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(80) / 80.0
    noise = rng.normal(0, 50, (80, 1)) + 1e5
    step = noise + np.where(t >= 0.6, 400.0, 0.0)[:, None]
    ramp = noise + (t * 300.0)[:, None]
    rule = SettleRule()
    assert assess(noise, t, rule)[4].all()
    assert not assess(step, t, rule)[4].any()
    assert not assess(ramp, t, rule)[4].any()
    edge = noise.copy()
    edge[-1] += 5000.0  # a load arriving on the window's very last frame
    assert not assess(edge, t, rule)[4].any()
    # a floor accepts a spread the noise estimate alone would not
    assert assess(ramp, t, SettleRule(sd_floor=400.0))[4].all()
    settler = Settler(rule, lambda v: v)
    assert settler.feed(FrameBlock.build(noise[:40], t[:40], t[:40])) is None
    assert settler.feed(FrameBlock.build(noise[40:], t[40:], t[40:])) is None  # 0.99 s so far
    w = settler.feed(FrameBlock.build(noise[:1], [1.0], [1.0]))  # a full second now
    assert w is not None and w.n == 80 and w.clock == "device" and w.all_settled


def test_fit_kinds_and_what_cannot_be_fitted() -> None:
    raw = np.array([1000.0, 3000.0, 5000.0, 7000.0])
    loads = np.array([0.0, 10.0, 20.0, 30.0])
    curved = 0.01 * (raw - 1000) + 1e-7 * (raw - 1000) ** 2
    pts = [CalPoint(float(x), float(y), float(x), 1.0, 10, 1.0) for x, y in zip(
        raw, curved, strict=True)]
    quad = fit_points(pts, "quadratic")
    assert quad.zero_raw == pytest.approx(1000.0)
    assert quad.coef == pytest.approx([0.0, 0.01, 1e-7], abs=1e-12)
    assert max(abs(r) for r in quad.residuals_n) < 1e-9
    line = fit_points(pts, "linear")
    # The best straight line misses this parabola by 0.4 N at most, over 63.6 N of span.
    assert line.nonlinearity_pct_fs == pytest.approx(100 * 0.4 / 63.6)
    assert line.nonlinearity_pct_fs == pytest.approx(quad.nonlinearity_pct_fs)
    pts_flat = [CalPoint(0, y, 500.0, 1.0, 10, 1.0) for y in loads]
    with pytest.raises(CalibrationError, match="did not change"):
        fit_points(pts_flat)
    with pytest.raises(CalibrationError, match="at least 3 points"):
        fit_points(pts[:2], "quadratic")
    with pytest.raises(CalibrationError, match="unknown fit"):
        fit_points(pts, "cubic")
    with pytest.raises(CalibrationError, match="at least 2 different"):
        check_weights([5, 5], "linear")
    assert check_weights([0, 5, 10], "quadratic") == [0.0, 5.0, 10.0]


def test_tare_zeroes_and_replaces_the_profile_offset() -> None:
    profile = load_profile("sim-loadcells")  # scale and offset from the seed=1 truth
    rng = np.random.default_rng(1)
    raw = np.column_stack([rng.normal(30000, 50, 80), rng.normal(20000, 40, 80)])
    block = FrameBlock.build(raw, np.arange(80) / 80.0)
    tare = tare_offsets(block, ["left", "right"])
    assert tare["offsets"]["left"] == pytest.approx(raw[:, 0].mean())
    assert tare["sd"]["right"] == pytest.approx(raw[:, 1].std())
    assert tare["frames"] == 80 and tare["window_s"] == pytest.approx(79 / 80)
    conv = with_tare({"keep": 1}, tare)
    assert conv["keep"] == 1 and conv["tare"] == [{**tare, "from_s": None}]
    values, _ = Conversion.from_profile(profile, conv).apply(raw.mean(axis=0)[None], "N")
    assert values == pytest.approx(np.zeros((1, 2)), abs=1e-9)
    nan_block = FrameBlock.build(np.full((3, 2), np.nan), np.arange(3.0))
    with pytest.raises(CalibrationError, match="no usable frames"):
        tare_offsets(nan_block, ["left", "right"])


def test_recalibration_changes_forces_not_raw(sim_calibrations, store: Store) -> None:
    _, cals, _ = sim_calibrations
    table = CalibrationStore(store)
    first = [Calibration.from_record(c.record()) for c in cals]
    table.add(first)
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=7&speed=20&session=20"
    profile = load_profile("sim-loadcells")
    sid = store.create_session(SessionMeta(), profile, port=url,
                               conversion=with_calibrations({}, first))
    rec = Recorder(store, sid)
    bridge = Bridge(url, profile)
    got = FrameTap()
    bridge.add_listener(rec)
    bridge.add_listener(got)
    bridge.start()
    taken = 0
    while taken < 400:  # 5 s of the simulated session
        block = got.get(5.0)
        assert block is not None, "the simulator stopped sending"
        taken += len(block)
    bridge.stop()
    rec.close(counters=bridge.counters)
    before = store.session(sid)
    raw_before, forces_before = before.frames(), before.samples("N")
    assert len(raw_before) > 100

    # A second calibration of the same cells: 2 % more newtons per count, zero 500 counts up.
    second = []
    for c in first:
        assert c.fit is not None
        d = c.record()
        d.update(id=None, batch=None, created_utc="")
        d["fit"] = {**d["fit"], "coef": [0.0, c.fit.coef[1] * 1.02],
                    "zero_raw": c.fit.zero_raw + 500}
        second.append(Calibration.from_record(d))
    ids = table.add(second)
    new = with_calibrations(before.info.conversion, table.resolve([ids[0]]))
    store.set_conversion(sid, new)
    after = store.session(sid)
    assert calibration_ids(after.info.conversion) == ids
    raw_after = after.frames()
    for name in ("values", "host_time", "device_time", "seq", "flags"):
        assert getattr(raw_after, name).tobytes() == getattr(raw_before, name).tobytes()
    forces_after = after.samples("N")
    for j, c in enumerate(second):
        assert c.fit is not None
        predicted = (raw_before.values[:, j] - c.fit.zero_raw) * c.fit.coef[1]
        assert np.allclose(forces_after.values[:, j], predicted)
        assert not np.allclose(forces_after.values[:, j], forces_before.values[:, j])
    edits = after.edits()
    assert edits[-1].field == "conversion" and calibration_ids(edits[-1].old) == [
        c.id for c in first]


MAT_TOML = """name = "test-mat-8"
protocol = "blockframe"
nominal_rate_hz = 100

[matrix]
rows = 8
cols = 8
raw_max = 4095
noise_threshold = 3
unit = "raw"
dtype = "uint16"
"""


def mat_bytes(levels: list[float], sens: np.ndarray, per: int, rng: np.random.Generator,
              raw_per_kg: float = 20.0) -> list[bytes]:
    """Frames of an even load per level (kg over the mat), ``per`` frames at 100 Hz each."""
    out, seq = [], 0
    for kg in levels:
        for _ in range(per):
            frame = kg * raw_per_kg * sens + rng.normal(0, 1.0, sens.shape)
            values = np.clip(np.rint(frame), 0, 4095).astype(np.uint16)
            out.append(encode_frame(values, seq, 1_000_000 + seq * 10_000))
            seq += 1
    return out


def test_mat_equilibration_and_total_on_a_pty(tmp_path: Path, store: Store) -> None:
    profile = parse_profile(MAT_TOML, "test:mat8")
    path = tmp_path / "mat8.toml"
    path.write_text(MAT_TOML)
    rng = np.random.default_rng(5)
    sens = rng.uniform(0.7, 1.3, (8, 8))
    sens[2, 3] = sens[6, 1] = 0.0  # two dead sensels
    spec = spec_for("pty", str(path), weights=[0.0, 10.0, 20.0])
    spec.profile = profile

    def run(chunks: list[bytes], job):  # type: ignore[no-untyped-def]
        with PtyDevice() as dev:
            bridge = Bridge(dev.path, profile)
            tap = FrameTap()
            bridge.add_listener(tap)
            bridge.open_once()
            bridge.start()
            dev.play(chunks, interval=0.0)
            try:
                return job(tap)
            finally:
                bridge.stop()

    guide = Scripted()
    equil = run(mat_bytes([30.0], sens, 150, rng), lambda tap: equilibrate_mat(tap, spec, guide))
    assert equil.kind == "mat_equilibration" and equil.fit is None
    assert sorted(map(tuple, equil.dead_sensels)) == [(2, 3), (6, 1)]
    gains = equil.gains
    assert gains is not None and np.all(np.isfinite(gains))
    assert gains[2, 3] == gains[6, 1] == 1.0  # dead: left unscaled, never divided by zero
    live = sens > 0
    evened = (gains * sens)[live]
    assert evened.std() / evened.mean() < 0.01  # every live sensel now reads alike
    assert any("2 dead" in s for s in guide.said)
    CalibrationStore(store).add([equil])

    total = run(mat_bytes([0.0, 10.0, 20.0], sens, 150, rng),
                lambda tap: calibrate_mat_total(tap, spec, guide, equil))
    assert total.kind == "mat_total" and total.fit is not None
    assert total.equilibration_id == equil.id
    assert total.fit.nonlinearity_pct_fs < 0.5
    assert np.array_equal(decode_gains(encode_gains(gains)), gains)
    CalibrationStore(store).add([total])

    # A session recorded with it reads the known load as force, split over the block regions.
    conv = with_calibrations({}, [CalibrationStore(store).get(total.id or 0)])
    sid = store.create_session(SessionMeta(), profile, port="pty", conversion=conv)
    rec = Recorder(store, sid)
    frames = [np.clip(np.rint(15.0 * 20.0 * sens), 0, 4095).astype(np.uint16)] * 20
    rec.on_frames(FrameBlock.build(np.stack(frames), np.arange(20) / 100.0 + 1.0))
    rec.close()
    samples = store.session(sid).samples("kgf")
    assert samples.names[-1] == "total" and samples.units == ["kgf"] * len(samples.names)
    assert samples.values[:, -1] == pytest.approx(np.full(20, 15.0), rel=0.01)
