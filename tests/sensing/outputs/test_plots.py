"""The session plot never draws a line across missing data."""

from __future__ import annotations

import numpy as np

from sensing.outputs.figurekinds import KINDS
from sensing.outputs.figures import DRAWINGS
from sensing.outputs.plots import broken_at_gaps, envelope


def test_a_pause_in_the_frames_breaks_the_line() -> None:
    t = np.r_[np.arange(0, 2, 0.0125), np.arange(3.5, 5, 0.0125)]
    v = np.column_stack([t * 2, -t])
    t2, v2 = broken_at_gaps(t, v)
    nan_rows = np.flatnonzero(np.isnan(t2))
    assert nan_rows.tolist() == [160]  # between the last frame before and the first after
    assert np.isnan(v2[160]).all()
    np.testing.assert_array_equal(np.delete(t2, 160), t)  # nothing else changed or invented
    np.testing.assert_array_equal(np.delete(v2, 160, axis=0), v)


def test_steady_frames_and_jitter_are_left_alone() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.008, 0.02, 500))  # host-time jitter of a USB serial link
    v = rng.normal(size=(500, 2))
    t2, v2 = broken_at_gaps(t, v)
    assert t2 is t and v2 is v


def test_every_figure_kind_has_its_drawing() -> None:
    """The kinds the command line lists (figurekinds, light) are the kinds figures draws."""
    assert list(DRAWINGS) == list(KINDS)


def test_envelope_keeps_every_peak_and_every_gap() -> None:
    t = np.r_[np.arange(0, 100, 0.01), np.arange(102, 200, 0.01)]  # a 2 s gap at 100 s
    v = np.column_stack([np.sin(t), np.zeros_like(t)])
    v[5000, 1], v[15000, 1] = 7.0, -3.0  # one-frame spikes
    t2, v2 = envelope(t, v, points=400)
    assert len(t2) < 500
    assert np.nanmax(v2[:, 1]) == 7.0 and np.nanmin(v2[:, 1]) == -3.0
    assert np.nanmax(v2[:, 0]) == v[:, 0].max() and np.nanmin(v2[:, 0]) == v[:, 0].min()
    gap = np.flatnonzero(np.isnan(t2))
    assert len(gap) == 1 and t2[gap[0] - 1] < 100 and t2[gap[0] + 1] >= 102
    short_t, short_v = envelope(t[:300], v[:300], points=400)
    np.testing.assert_array_equal(short_v, v[:300])  # fewer frames than points: as they are
