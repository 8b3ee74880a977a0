"""Mat measures against values worked out independently on small known frames."""

from __future__ import annotations

import time

import numpy as np
import pytest

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles import Matrix
from sensing.mat import frame_measures, patient_view, sensel_to_mm, total_unit

ROWS, COLS = 4, 5
PITCH = (10.0, 20.0)  # row pitch, column pitch (mm)


def mat(**kw: object) -> Matrix:
    args: dict[str, object] = {"rows": ROWS, "cols": COLS, "pitch_mm": PITCH}
    args.update(kw)
    return Matrix(**args)  # type: ignore[arg-type]


def one_frame(cells: dict[tuple[int, int], float]) -> np.ndarray:
    f = np.zeros((1, ROWS, COLS), dtype=np.uint16)
    for (r, c), v in cells.items():
        f[0, r, c] = v
    return f


def test_single_loaded_sensel_puts_cop_exactly_there() -> None:
    m = frame_measures(one_frame({(1, 3): 120}), mat())
    assert m.cop_row[0] == 1.0 and m.cop_col[0] == 3.0
    # head at the top edge, patient's left at column 0: x = -(col - 2) * 20, y = -(row - 1.5) * 10
    assert m.cop_x_mm[0] == pytest.approx(-20.0)
    assert m.cop_y_mm[0] == pytest.approx(5.0)
    assert m.total[0] == 120 and m.peak[0] == 120
    assert m.contact_area_cm2[0] == pytest.approx(2.0)  # 10 mm x 20 mm
    assert m.unit == "raw"


def test_two_equal_sensels_give_the_midpoint_and_unequal_the_weighted_point() -> None:
    m = frame_measures(one_frame({(0, 0): 50, (2, 4): 50}), mat())
    assert (m.cop_row[0], m.cop_col[0]) == (1.0, 2.0)
    assert m.contact_area_cm2[0] == pytest.approx(4.0)
    w = frame_measures(one_frame({(0, 0): 30, (0, 4): 90}), mat())
    assert w.cop_col[0] == pytest.approx((0 * 30 + 4 * 90) / 120)


def test_no_load_has_no_centre_of_pressure() -> None:
    m = frame_measures(np.zeros((3, ROWS, COLS)), mat())
    assert np.isnan(m.cop_row).all() and np.isnan(m.cop_x_mm).all() and np.isnan(m.cop_y_mm).all()
    assert (m.contact_area_cm2 == 0).all() and (m.total == 0).all() and (m.peak == 0).all()


def test_threshold_excludes_values_at_or_below_it() -> None:
    frame = one_frame({(0, 0): 5, (3, 4): 6, (2, 2): 40})
    m = frame_measures(frame, mat(noise_threshold=5))
    assert m.total[0] == 46 and m.contact_area_cm2[0] == pytest.approx(4.0)
    assert m.cop_row[0] == pytest.approx((3 * 6 + 2 * 40) / 46)
    explicit = frame_measures(frame, mat(noise_threshold=5), threshold=6)
    assert explicit.total[0] == 40 and explicit.cop_row[0] == 2.0
    everything = frame_measures(frame, mat(noise_threshold=5), threshold=0)
    assert everything.total[0] == 51


def test_force_unit_mat_sums_scaled_sensels_and_converts() -> None:
    frame = one_frame({(0, 0): 100, (1, 1): 200})
    m = mat(unit="kgf", scale=0.01, offset=0.5, noise_threshold=10)
    kgf = (100 * 0.01 + 0.5) + (200 * 0.01 + 0.5)
    newtons = frame_measures(frame, m)
    assert newtons.unit == "N" and newtons.total[0] == pytest.approx(kgf * 9.80665)
    assert newtons.peak[0] == pytest.approx(2.5) and newtons.peak_unit == "kgf"
    as_kgf = frame_measures(frame, m, force_unit="kgf")
    assert as_kgf.unit == "kgf" and as_kgf.total[0] == pytest.approx(kgf)
    with pytest.raises(ProfileError, match="force unit"):
        frame_measures(frame, m, force_unit="stone")


def test_pressure_mat_total_is_pressure_times_sensel_area() -> None:
    frame = one_frame({(2, 2): 100})
    m = frame_measures(frame, mat(unit="kPa", scale=0.5))
    area_m2 = 0.010 * 0.020
    assert m.unit == "N" and m.total[0] == pytest.approx(50e3 * area_m2)
    assert m.peak[0] == 50 and m.peak_unit == "kPa"
    assert total_unit(mat(unit="counts")) == "counts"


# (head_edge, patient_left) -> (x_mm, y_mm) of the sensel at row 0, column 4 of a 4x5 mat with a
# 10 mm row pitch and 20 mm column pitch; worked out by hand from the picture in docs/mats.md.
ORIENTATIONS = {
    ("top", "left"): (-40.0, 15.0),
    ("top", "right"): (40.0, 15.0),
    ("bottom", "left"): (-40.0, -15.0),
    ("bottom", "right"): (40.0, -15.0),
    ("left", "top"): (15.0, -40.0),
    ("left", "bottom"): (-15.0, -40.0),
    ("right", "top"): (15.0, 40.0),
    ("right", "bottom"): (-15.0, 40.0),
}


@pytest.mark.parametrize(("head", "left"), list(ORIENTATIONS))
def test_orientation_sets_patient_coordinates(head: str, left: str) -> None:
    m = frame_measures(one_frame({(0, 4): 10}), mat(head_edge=head, patient_left=left))
    assert (m.cop_x_mm[0], m.cop_y_mm[0]) == pytest.approx(ORIENTATIONS[head, left])
    assert (m.cop_row[0], m.cop_col[0]) == (0.0, 4.0)


@pytest.mark.parametrize(("head", "left"), list(ORIENTATIONS))
def test_patient_view_puts_head_up_and_left_to_the_right(head: str, left: str) -> None:
    matrix = mat(head_edge=head, patient_left=left)
    frame = np.arange(ROWS * COLS, dtype=np.float64).reshape(ROWS, COLS)
    view = patient_view(frame, matrix)
    rows, cols = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
    x, y = sensel_to_mm(rows, cols, matrix)
    # view[iy, ix]: iy grows toward the head, ix toward the patient's left
    ys, xs = np.unique(y), np.unique(x)  # ascending: feet to head, patient's right to left
    assert view.shape == (ys.size, xs.size)
    for r, c in ((0, 0), (0, 4), (3, 1), (2, 3)):
        iy, ix = int(np.searchsorted(ys, y[r, c])), int(np.searchsorted(xs, x[r, c]))
        assert view[iy, ix] == frame[r, c]


def test_head_and_left_on_one_axis_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="same axis"):
        frame_measures(one_frame({(0, 0): 1}), mat(head_edge="top", patient_left="bottom"))


def test_missing_sensel_makes_that_frame_unknown_and_is_counted() -> None:
    frames = np.zeros((3, ROWS, COLS))
    frames[:, 1, 1] = 10.0
    frames[1, 0, 0] = np.nan
    m = frame_measures(frames, mat())
    assert m.missing.tolist() == [0, 1, 0]
    assert np.isnan(m.total[1]) and np.isnan(m.cop_x_mm[1]) and np.isnan(m.contact_area_cm2[1])
    assert m.total[0] == m.total[2] == 10.0


def test_block_measures_match_a_frame_by_frame_computation() -> None:
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 60, size=(25, 6, 7)).astype(np.uint16)
    matrix = Matrix(rows=6, cols=7, pitch_mm=(8.0, 9.0), noise_threshold=20, scale=2.0,
                    offset=1.0, head_edge="bottom", patient_left="right")
    m = frame_measures(frames, matrix)
    for i, f in enumerate(frames):
        total = area = row_m = col_m = 0.0
        for r in range(6):
            for c in range(7):
                if f[r, c] > 20:
                    v = f[r, c] * 2.0 + 1.0
                    total, area = total + v, area + 0.72
                    row_m, col_m = row_m + v * r, col_m + v * c
        assert m.total[i] == pytest.approx(total)
        assert m.contact_area_cm2[i] == pytest.approx(area)
        assert m.cop_row[i] == pytest.approx(row_m / total)
        # head at the bottom edge, patient's left at the right edge
        assert m.cop_y_mm[i] == pytest.approx((row_m / total - 2.5) * 8.0)
        assert m.cop_x_mm[i] == pytest.approx((col_m / total - 3.0) * 9.0)


def test_origin_keeps_a_cut_out_block_in_whole_mat_coordinates() -> None:
    frames = one_frame({(2, 3): 10, (3, 4): 30})
    whole = frame_measures(frames, mat())
    part = frame_measures(frames[:, 2:, 3:], mat(), origin=(2, 3))
    assert part.cop_row[0] == whole.cop_row[0] and part.cop_x_mm[0] == whole.cop_x_mm[0]


def test_per_frame_cost_on_a_48x48_block() -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 4096, size=(500, 48, 48)).astype(np.uint16)
    matrix = Matrix(rows=48, cols=48, pitch_mm=(8.4, 8.4), noise_threshold=200, unit="kPa",
                    scale=0.05, raw_max=4095)
    frame_measures(frames, matrix)  # warm up
    best = min(_timed(frames, matrix) for _ in range(3))
    per_frame_us = best / 500 * 1e6
    print(f"frame_measures (500, 48, 48): {per_frame_us:.1f} us per frame")
    assert per_frame_us < 500  # 100 frames/s needs under 10 ms; allow slow CI machines


def _timed(frames: np.ndarray, matrix: Matrix) -> float:
    t0 = time.perf_counter()
    frame_measures(frames, matrix)
    return time.perf_counter() - t0
