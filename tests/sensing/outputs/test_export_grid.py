"""The regular grid of the one-rate formats (BIDS physio, C3D): frames on rows, gaps empty."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.frames import FLAG_AFTER_GAP
from sensing.outputs.exports.grid import grid

NO_DEVICE = np.nan


def _frames(n: int, rate: float, device: bool = True) -> tuple[np.ndarray, ...]:
    t = np.arange(n) / rate
    return (t + 0.25, t if device else np.full(n, NO_DEVICE), np.full(n, -1, np.int64),
            np.zeros(n, np.uint8))


def test_a_device_a_little_fast_keeps_its_own_rate_and_no_empty_row() -> None:
    time_s, device, seq, flags = _frames(48_000, 80.4)  # 10 min of a clock 0.5 % fast
    g = grid(time_s, device, seq, flags, nominal_hz=80.0)
    assert g.rate_hz == pytest.approx(80.4, rel=1e-9) and g.rate_source == "runs"
    assert g.n_rows == 48_000 and g.gaps == [] and g.clock == "device_time_s"
    assert g.start_s == 0.25


def test_a_dropout_is_empty_rows_and_the_rows_after_it_keep_their_times() -> None:
    time_s, device, seq, flags = _frames(800, 80.0)
    time_s[400:] += 1.5
    device[400:] += 1.5
    seq[:] = np.arange(800)
    seq[400:] += 120  # the device counted the frames that never came
    g = grid(time_s, device, seq, flags, nominal_hz=None)
    assert g.rate_hz == pytest.approx(80.0)
    assert g.gaps == [(400, 120)] and g.n_rows == 920
    placed = g.start_s + g.rows / g.rate_hz
    np.testing.assert_allclose(placed, time_s, atol=1e-9)
    spread = g.spread(np.arange(800.0))
    assert np.isnan(spread[400:520]).all() and spread[520] == 400.0  # never interpolated


def test_host_bursts_without_a_device_clock_are_not_gaps() -> None:
    """Four frames stamped at once each time the port hands over a read: no empty rows."""
    time_s, device, seq, flags = _frames(400, 80.0, device=False)
    time_s = 0.25 + np.repeat(np.arange(100) * 4 / 80.0, 4) + 3 / 80.0
    g = grid(time_s, device, seq, flags, nominal_hz=80.0)
    assert g.clock == "time_s" and g.gaps == [] and g.n_rows == 400
    assert g.rate_hz == pytest.approx(80.0, rel=0.02)


def test_a_reconnect_flag_starts_a_new_run() -> None:
    time_s, device, seq, flags = _frames(200, 10.0, device=False)
    time_s[100:] += 0.1  # one period missing: too short to cut on, but the bridge flagged it
    flags[100] = FLAG_AFTER_GAP
    g = grid(time_s, device, seq, flags, nominal_hz=10.0)
    assert g.gaps == [(100, 1)]
    flags[100] = 0
    assert grid(time_s, device, seq, flags, nominal_hz=10.0).gaps == []


@pytest.mark.parametrize("n,nominal,rate,source", [(0, 80.0, 80.0, "nominal"),
                                                   (1, 80.0, 80.0, "nominal"),
                                                   (1, None, None, "none")])
def test_under_two_frames_the_rate_is_the_profiles(n: int, nominal: float | None,
                                                   rate: float | None, source: str) -> None:
    g = grid(*_frames(n, 80.0), nominal_hz=nominal)
    assert (g.rate_hz, g.rate_source, g.n_rows) == (rate, source, n)


def test_one_missing_frame_on_the_device_clock_is_one_empty_row() -> None:
    time_s, device, seq, flags = _frames(100, 80.0)
    keep = np.arange(100) != 50
    g = grid(time_s[keep], device[keep], seq[keep], flags[keep], nominal_hz=80.0)
    assert g.gaps == [(50, 1)] and g.n_rows == 100
