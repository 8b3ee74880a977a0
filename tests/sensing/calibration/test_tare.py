"""The tare rule (still and unloaded, or refused) and zero segments that apply from their moment."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.errors import TareRefused
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.calibration.conversion import (
    Conversion,
    describe_zeros,
    rebased,
    with_zero,
    zero_segments,
)
from sensing.calibration.tare import check_tare, forced, refusal, tare_offsets, with_tare

NAMES = ["left", "right"]
T = np.arange(80) / 80.0
# sim-loadcells (seed=1 truth): the profile's offsets put zero force at these raw counts.
ZERO = np.array([12272.038, 18250.187])
GAIN = np.array([21887.625, 18739.601])  # counts per kg


def window(values: np.ndarray) -> dict:
    return tare_offsets(FrameBlock.build(values, T), NAMES)


def test_a_still_unloaded_tare_passes() -> None:
    rng = np.random.default_rng(4)
    still = ZERO + rng.normal(0, 60, (80, 2))
    assert check_tare(window(still), load_profile("sim-loadcells"), {}) == []


def test_a_block_touched_during_the_tare_is_refused_with_its_numbers() -> None:
    rng = np.random.default_rng(4)
    touched = ZERO + rng.normal(0, 57, (80, 2))
    touched[40:, 1] += 3771.0 * 2  # someone leans on the right block halfway through
    (problem,) = check_tare(window(touched), load_profile("hx711-arduino"), {})
    assert (problem.channel, problem.problem) == ("right", "moving")
    assert problem.measured > 3 * 57 and "times the sensor's own noise" in problem.text
    assert "tare refused: right was not still" in str(refusal([problem]))


def test_a_loaded_block_is_refused_against_the_profile_zero() -> None:
    rng = np.random.default_rng(5)
    loaded = ZERO + rng.normal(0, 50, (80, 2))
    loaded[:, 0] += 37.7 * GAIN[0]  # 37.7 kg, 370 N, lying still on the left block
    problems = check_tare(window(loaded), load_profile("sim-loadcells"), {})
    assert [(p.channel, p.problem) for p in problems] == [("left", "loaded")]
    assert problems[0].measured == pytest.approx(370, abs=2)
    assert "370 N from the profile's zero" in problems[0].text
    # A block's own weight (1.2 kg) is what a tare is for: it passes.
    block = ZERO + rng.normal(0, 50, (80, 2)) + np.array([1.2, 0.0]) * GAIN
    assert check_tare(window(block), load_profile("sim-loadcells"), {}) == []


def test_counts_without_a_known_zero_are_judged_on_stillness_alone() -> None:
    rng = np.random.default_rng(6)
    heavy = 5e5 + rng.normal(0, 50, (80, 2))  # far from anything, but hx711-arduino is counts
    assert check_tare(window(heavy), load_profile("hx711-arduino"), {}) == []
    earlier = with_tare({}, window(1e4 + rng.normal(0, 50, (80, 2))))
    calibrated = {
        **earlier,
        "calibration": {
            "channels": {
                n: {"id": 3, "fit": "linear", "coef": [0.0, 0.001], "zero_raw": 1e4} for n in NAMES
            }
        },
    }
    problems = check_tare(window(heavy), load_profile("hx711-arduino"), calibrated)
    assert {p.problem for p in problems} == {"loaded"}
    assert "from the earlier tare" in problems[0].text


def test_coarse_readings_that_cannot_scatter_are_not_called_moving() -> None:
    flat = np.tile(ZERO.round(), (80, 1))
    flat[::9, 0] += 1.0  # one count of flicker: the finest step the readings show
    assert check_tare(window(flat), load_profile("hx711-arduino"), {}) == []


def test_a_forced_tare_keeps_its_problems() -> None:
    rng = np.random.default_rng(7)
    touched = ZERO + rng.normal(0, 50, (80, 2))
    touched[:, 1] += np.linspace(0, 20000, 80)
    tare = window(touched)
    problems = check_tare(tare, load_profile("hx711-arduino"), {})
    kept = forced(tare, problems)
    assert kept["forced"] and kept["problems"][0]["channel"] == "right"
    with pytest.raises(TareRefused):
        raise refusal(problems)


def test_zero_segments_apply_from_their_moment_only() -> None:
    profile = load_profile("sim-loadcells")
    first = {"offsets": {"left": 1000.0, "right": 2000.0}}
    second = {"offsets": {"left": 5000.0, "right": 7000.0}, "from_s": 10.0}
    conv = with_zero(with_zero({}, first), second)
    assert [s["from_s"] for s in zero_segments(conv)] == [None, 10.0]
    host = 100.0 + np.array([0.0, 9.999, 10.0, 20.0])  # t0_host = 100
    raw = np.full((4, 2), 6000.0)
    values, _ = Conversion.from_profile(profile, conv, t0_host=100.0).apply(raw, "N", host)
    scale = np.array([c.scale for c in profile.channels]) * 9.80665
    np.testing.assert_allclose(
        values[:2], np.tile((6000.0 - np.array([1000.0, 2000.0])) * scale, (2, 1))
    )
    np.testing.assert_allclose(
        values[2:], np.tile((6000.0 - np.array([5000.0, 7000.0])) * scale, (2, 1))
    )
    # A tare from the start replaces every earlier zero; rebasing collapses what came before.
    assert zero_segments(with_zero(conv, {**first, "from_s": None})) == [{**first, "from_s": None}]
    moved = rebased(with_zero({}, {**first, "from_s": 50.0}), 60.0)
    assert zero_segments(moved) == [{**first, "from_s": None}]
    text = [z["text"] for z in describe_zeros(conv, NAMES)]
    assert text == [
        "from the start until 10.00 s: left: tare 1000 raw, right: tare 2000 raw",
        "from 10.00 s to the end: left: tare 5000 raw, right: tare 7000 raw",
    ]


def test_a_conversion_with_segments_needs_times_or_takes_the_newest() -> None:
    profile = load_profile("sim-loadcells")
    conv = with_zero(
        with_zero({}, {"offsets": {"left": 0.0, "right": 0.0}}),
        {"offsets": {"left": 10.0, "right": 10.0}, "from_s": 5.0},
    )
    newest, _ = Conversion.from_profile(profile, conv).apply(np.full((1, 2), 10.0), "N")
    np.testing.assert_allclose(newest, 0.0)
