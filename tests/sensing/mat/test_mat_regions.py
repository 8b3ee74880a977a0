"""Block regions found on synthetic footprints, their measures and the per-block channels."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix, Profile
from sensing.mat import (
    Region,
    block_channels,
    check_regions,
    find_regions,
    region_measures,
    regions_for_session,
    session_block_channels,
)
from sensing.mat.regions import label_components

ROWS, COLS = 24, 32


def mat(**kw: Any) -> Matrix:
    args: dict[str, Any] = {"rows": ROWS, "cols": COLS, "pitch_mm": (10.0, 10.0),
                            "noise_threshold": 3}
    args.update(kw)
    return Matrix(**args)


def two_footprints() -> np.ndarray:
    """Block A at rows 6-15, cols 2-9 (low columns); block B rows 8-17, cols 20-29, heavier."""
    f = np.zeros((ROWS, COLS))
    f[6:16, 2:10] = 40.0
    f[8:18, 20:30] = 60.0
    f[0, 31] = 90.0  # one hot noisy sensel: heavy but tiny, never a block
    f[20, 0] = 2.0  # below the noise threshold
    return f


def test_labelling_finds_four_connected_components() -> None:
    mask = np.array([[1, 1, 0, 1],
                     [0, 1, 0, 1],
                     [1, 0, 0, 0]], dtype=bool)
    labels, count = label_components(mask)
    assert count == 3
    assert labels[0, 0] == labels[1, 1] != labels[0, 3]
    assert labels[2, 0] not in (0, labels[0, 0], labels[0, 3])  # diagonal is not connected
    assert (labels[~mask] == 0).all()


def test_two_footprints_are_found_and_named_by_patient_side() -> None:
    regions = find_regions(two_footprints(), mat())
    by_name = {r.name: r for r in regions}
    # patient_left = "left": low columns are the patient's left
    assert (by_name["left"].r0, by_name["left"].r1, by_name["left"].c0, by_name["left"].c1) == (
        6, 16, 2, 10)
    assert (by_name["right"].r0, by_name["right"].r1, by_name["right"].c0,
            by_name["right"].c1) == (8, 18, 20, 30)
    assert {r.source for r in regions} == {"auto"}


def test_left_and_right_swap_when_the_mat_is_turned() -> None:
    regions = {r.name: r for r in find_regions(two_footprints(), mat(patient_left="right"))}
    assert regions["left"].c0 == 20 and regions["right"].c0 == 2
    turned = {r.name: r for r in find_regions(two_footprints(), mat(head_edge="bottom"))}
    assert turned["left"].c0 == 2  # head at the bottom does not swap the sides


def test_head_along_columns_makes_the_rows_the_sides() -> None:
    f = two_footprints().T.copy()  # the same blocks, mat mounted a quarter turn round
    m = Matrix(rows=COLS, cols=ROWS, pitch_mm=(10.0, 10.0), noise_threshold=3,
               head_edge="left", patient_left="bottom")
    regions = {r.name: r for r in find_regions(f, m)}
    assert regions["left"].r0 == 20 and regions["right"].r0 == 2


def test_touching_blocks_are_cut_at_the_lightest_line() -> None:
    f = np.zeros((ROWS, COLS))
    f[6:16, 4:14] = 50.0
    f[6:16, 14:26] = 70.0
    f[6:16, 14] = 6.0  # the seam between the two wedges
    regions = {r.name: r for r in find_regions(f, mat())}
    assert regions["left"].c1 == 14 and regions["right"].c0 == 14
    assert regions["left"].c0 == 4 and regions["right"].c1 == 26
    assert {r.source for r in regions.values()} == {"auto_split"}


def test_one_even_footprint_stays_one_region() -> None:
    f = np.zeros((ROWS, COLS))
    f[6:16, 4:26] = 50.0
    regions = find_regions(f, mat())
    assert [(r.name, r.c0, r.c1) for r in regions] == [("block", 4, 26)]


def test_nothing_loaded_finds_nothing() -> None:
    assert find_regions(np.full((ROWS, COLS), 3.0), mat()) == []
    assert regions_for_session(np.zeros((0, ROWS, COLS)), mat()) == []


def test_region_round_trips_through_json_and_is_checked() -> None:
    region = Region("left", 1, 5, 2, 9, source="person")
    assert Region.from_dict(json.loads(json.dumps(region.as_dict()))) == region
    with pytest.raises(ProfileError, match="outside"):
        check_regions([Region("left", 0, 30, 0, 4)], mat())
    with pytest.raises(ProfileError, match="outside"):
        check_regions([Region("left", 4, 4, 0, 4)], mat())
    with pytest.raises(ProfileError, match="overlap"):
        check_regions([Region("left", 0, 5, 0, 5), Region("right", 4, 8, 4, 8)], mat())
    with pytest.raises(ProfileError, match="unique"):
        check_regions([Region("left", 0, 2, 0, 2), Region("left", 4, 8, 4, 8)], mat())
    with pytest.raises(ProfileError, match="total"):
        check_regions([Region("total", 0, 2, 0, 2)], mat())
    with pytest.raises(ProfileError, match="needs name"):
        Region.from_dict({"name": "left", "r0": 1})


def session_frames() -> np.ndarray:
    rng = np.random.default_rng(3)
    ramp = np.linspace(0.2, 1.0, 40)[:, None, None]
    frames = two_footprints()[None] * ramp + rng.integers(0, 3, size=(40, ROWS, COLS))
    return frames.astype(np.uint16)


def test_region_measures_are_sums_and_positions_inside_each_rectangle() -> None:
    frames, m = session_frames(), mat()
    regions = regions_for_session(frames, m)
    measures = region_measures(frames, m, regions)
    for r in regions:
        part = frames[:, r.r0:r.r1, r.c0:r.c1].astype(np.float64)
        loaded = np.where(part > 3, part, 0.0)
        assert np.allclose(measures[r.name].total, loaded.sum(axis=(1, 2)))
        rows = np.arange(r.r0, r.r1)[None, :, None]
        assert np.allclose(measures[r.name].cop_row,
                           (loaded * rows).sum(axis=(1, 2)) / loaded.sum(axis=(1, 2)))
        assert np.allclose(measures[r.name].contact_area_cm2, (part > 3).sum(axis=(1, 2)))


def test_block_channels_are_the_region_totals_then_the_whole_mat() -> None:
    frames, m = session_frames(), mat(unit="kgf", scale=0.1)
    regions = regions_for_session(frames, m)
    names, values = block_channels(frames, m, regions)
    assert names == ["left", "right", "total"] and values.shape == (40, 3)
    loaded = np.where(frames > 3, frames * 0.1, 0.0) * 9.80665
    for j, r in enumerate(regions):
        assert np.allclose(values[:, j], loaded[:, r.r0:r.r1, r.c0:r.c1].sum(axis=(1, 2)))
    assert np.allclose(values[:, 2], loaded.sum(axis=(1, 2)))
    outside = values[:, 2] - values[:, 0] - values[:, 1]
    assert np.allclose(outside, loaded[:, 0, 31])  # only the hot sensel lies outside


def test_stored_regions_win_over_found_ones() -> None:
    frames, m = session_frames(), mat()
    stored = [{"name": "left", "r0": 0, "r1": 12, "c0": 0, "c1": 16},
              {"name": "right", "r0": 0, "r1": 12, "c0": 16, "c1": 32}]
    regions = regions_for_session(frames, m, stored)
    assert [(r.name, r.r1, r.source) for r in regions] == [("left", 12, "person"),
                                                             ("right", 12, "person")]


@dataclass
class Header:
    """The header fields a session gives the mat read side."""

    profile: Profile
    conversion: dict[str, Any] = field(default_factory=dict)
    t0_host: float = 0.0


def test_session_block_channels_use_the_regions_kept_with_the_session() -> None:
    profile = Profile(name="mat", protocol="matrix_lines", matrix=mat(unit="kPa", scale=1.0))
    frames = session_frames()
    block = FrameBlock.build(frames, np.arange(40) * 0.1)
    found = session_block_channels(Header(profile), block, "kgf")
    assert found is not None
    assert found[0] == ["left", "right", "total"] and found[2] == ["kgf"] * 3
    kept = {"mat_regions": [Region("left", 0, 24, 0, 16, "person").as_dict()]}
    result = session_block_channels(Header(profile, kept), block, "N")
    assert result is not None
    assert result[0] == ["left", "total"]
    loaded = np.where(frames > 3, frames, 0.0) * 1000 * 1e-4  # kPa x 1 cm² in N
    assert np.allclose(result[1][:, 0], loaded[:, :, :16].sum(axis=(1, 2)))
    cells = Profile(name="cells", protocol="lines")
    assert session_block_channels(Header(cells), block) is None
