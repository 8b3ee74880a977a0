"""The detection rule on signals whose placement and removal are known: the simulator's body
session, and trapezoids with noise, drift, breathing and a partial unload."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.sim.loadcells import LoadcellDevice
from firmware_bridge.sim.options import parse_sim_url
from firmware_bridge.sim.scenario import BodySession
from sensing.metrics.detect import Detected, Detector, DetectRule, detection_total
from sensing.vocabulary import DETECTED_EVENT_KINDS, EVENT_KINDS

RATE = 80.0
G = 9.80665
TRUTH_S = 0.25  # the bound on placed and removed against the ground truth


def run(t: np.ndarray, total: np.ndarray, split: int | None = None, **kw: object) -> list[Detected]:
    """The rule fed ``split`` frames at a time (None: all at once), then finished."""
    det = Detector(**kw)  # type: ignore[arg-type]
    step = split or max(1, len(t))
    for a in range(0, len(t), step):
        det.feed(t[a:a + step], total[a:a + step])
    det.finish()
    return det.events


def kinds(events: list[Detected]) -> list[str]:
    return [e.kind for e in events]


def at(events: list[Detected], kind: str) -> float:
    (found,) = [e.host_time for e in events if e.kind == kind]
    return found


def simulated(seed: int, length: float = 60.0) -> tuple[np.ndarray, np.ndarray, BodySession]:
    """The simulator's samples of one cycle, read with its true gain, offset and drift (a
    perfect calibration and tare), summed over the blocks in N; and the cycle's true times."""
    _, config = parse_sim_url(f"sim://loadcells?seed={seed}&session={length:g}")
    assert not isinstance(config, type)
    device = LoadcellDevice(config)  # type: ignore[arg-type]
    model = device.model
    device_us, counts = device.samples(0, int(RATE * length))
    t = (device_us - device.boot_us) / 1e6
    kg = (counts - model.offset - model.drift * t[:, None] / 60.0) / model.gain
    script = model.script
    assert isinstance(script, BodySession)
    return t, kg.sum(axis=1) * G, script


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 8, 13])
def test_the_simulators_placement_and_removal_within_a_quarter_second(seed: int) -> None:
    t, total, truth = simulated(seed)
    events = run(t, total)
    assert kinds(events) == ["placed", "settled", "removed"]
    assert abs(at(events, "placed") - truth.t_on) <= TRUTH_S
    assert abs(at(events, "removed") - (truth.t_off + truth.remove)) <= TRUTH_S
    assert truth.t_on < at(events, "settled") < truth.t_off
    for e in events:  # the rule's numbers travel with each event; none is found late
        assert e.data["rule"] == DetectRule().as_dict() and e.data["unit"] == "N"
        assert 0 <= e.data["found_s"] - e.data["detected_s"] <= 1.5 + DetectRule().settle_s


def test_the_same_frames_give_the_same_events_however_they_are_split() -> None:
    t, total, _ = simulated(4)
    whole = run(t, total)
    for split in (1, 7, 80, 1000):
        assert [(e.kind, e.host_time, e.data) for e in run(t, total, split)] == [
            (e.kind, e.host_time, e.data) for e in whole]


def trapezoid(load: float = 400.0, on: float = 5.0, rise: float = 2.0, off: float = 30.0,
              fall: float = 1.5, end: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, end, 1 / RATE)
    x = np.interp(t, [0, on, on + rise, off, off + fall, end], [0, 0, load, load, 0, 0])
    return t, x


def test_noise_is_measured_and_does_not_make_events() -> None:
    t, x = trapezoid()
    rng = np.random.default_rng(7)
    noisy = x + rng.normal(0.0, 3.0, t.size)
    events = run(t, noisy)
    assert kinds(events) == ["placed", "settled", "removed"]
    assert abs(at(events, "placed") - 5.0) <= TRUTH_S
    assert abs(at(events, "removed") - 31.5) <= TRUTH_S
    assert events[0].data["noise_sd"] == pytest.approx(3.0, rel=0.25)
    # pure noise, far above the level in SDs but never holding past it, finds nothing
    assert run(t, rng.normal(0.0, 3.0, t.size)) == []


def test_a_drifting_zero_and_load() -> None:
    t, x = trapezoid()
    noise = np.random.default_rng(3).normal(0.0, 1.0, t.size)
    creep = np.where(x > 0, 0.5 * (t - 5.0), 0.0)  # the load creeping up while on the blocks
    events = run(t, x + 0.2 * t + creep + noise)  # and the zero drifting 8 N over the session
    assert kinds(events) == ["placed", "settled", "removed"]
    assert abs(at(events, "placed") - 5.0) <= TRUTH_S
    assert abs(at(events, "removed") - 31.5) <= TRUTH_S


def test_a_breathing_modulated_load_settles_once() -> None:
    t, x = trapezoid(load=350.0, off=60.0, end=70.0)
    breathing = x * (1.0 + 0.08 * np.sin(2 * np.pi * 0.25 * t))
    events = run(t, breathing)
    assert kinds(events) == ["placed", "settled", "removed"]
    assert abs(at(events, "placed") - 5.0) <= TRUTH_S
    assert abs(at(events, "removed") - 61.5) <= TRUTH_S
    settled = next(e for e in events if e.kind == "settled")
    assert 6.5 <= settled.host_time <= 12.0
    assert settled.data["loaded_level"] == pytest.approx(350.0, rel=0.05)


def test_a_partial_unload_is_not_removed() -> None:
    t = np.arange(0.0, 40.0, 1 / RATE)
    x = np.interp(t, [0, 5, 7, 20, 21, 40], [0, 0, 400, 400, 150, 150])
    assert kinds(run(t, x)) == ["placed", "settled"]
    # down to a tenth of the loaded level is near enough to zero to be removed
    x2 = np.interp(t, [0, 5, 7, 20, 21, 40], [0, 0, 400, 400, 30, 30])
    assert kinds(run(t, x2)) == ["placed", "settled", "removed"]  # and not placed again at 30 N


def test_a_load_must_hold_to_be_placed() -> None:
    t = np.arange(0.0, 20.0, 1 / RATE)
    blip = np.where((t > 5.0) & (t < 5.3), 300.0, 0.0)  # 0.3 s: shorter than hold_s
    assert run(t, blip) == []
    assert kinds(run(t, blip, rule=DetectRule(hold_s=0.2))) == ["placed", "removed"]


def test_the_body_weight_sets_the_placed_level() -> None:
    t = np.arange(0.0, 20.0, 1 / RATE)
    x = np.interp(t, [0, 5, 6, 20], [0, 0, 25, 25])  # 25 N: past 10 N, short of 5 % of 70 kg
    assert kinds(run(t, x)) == ["placed", "settled"]
    assert run(t, x, body_weight_kg=70.0) == []
    level = 0.05 * 70.0 * G
    assert kinds(run(t, x * 2, body_weight_kg=70.0)) == ["placed", "settled"]
    assert run(t, x * 2, body_weight_kg=70.0)[0].data["level"] == pytest.approx(level)


def test_loaded_from_the_first_frame_has_no_placed() -> None:
    t = np.arange(0.0, 20.0, 1 / RATE)
    x = np.interp(t, [0, 10, 11, 20], [300, 300, 0, 0])
    events = run(t, x)
    assert kinds(events) == ["settled", "removed"]
    assert abs(at(events, "removed") - 11.0) <= TRUTH_S


def test_a_run_still_holding_when_the_frames_end_is_not_reported() -> None:
    t = np.arange(0.0, 10.0, 1 / RATE)
    x = np.where(t > 9.8, 300.0, 0.0)
    assert run(t, x) == []


def test_units_that_are_not_force_and_short_sessions() -> None:
    t = np.arange(0.0, 20.0, 1 / RATE)
    x = np.interp(t, [0, 5, 6, 15, 16, 20], [0, 0, 5000, 5000, 0, 0])
    events = run(t, x + np.random.default_rng(1).normal(0, 5, t.size), unit="counts")
    assert kinds(events) == ["placed", "settled", "removed"]
    assert events[0].data["unit"] == "counts"
    assert run(t[:40], x[:40]) == []  # half a second: judged at the end, nothing there
    assert run(t[:0], x[:0]) == []


def test_the_total_sums_a_mats_blocks_or_the_cells() -> None:
    values = np.array([[1.0, 2.0, 10.0], [3.0, 4.0, 20.0]])
    assert detection_total(["left", "right", "total"], values, ["N"] * 3).tolist() == [3.0, 7.0]
    assert detection_total(["total"], values[:, 2:], ["N"]).tolist() == [10.0, 20.0]
    assert detection_total(["a", "b"], values[:, :2], ["N", "N"]).tolist() == [3.0, 7.0]


def test_settled_is_a_kind_in_the_one_vocabulary() -> None:
    assert set(DETECTED_EVENT_KINDS) <= set(EVENT_KINDS)
