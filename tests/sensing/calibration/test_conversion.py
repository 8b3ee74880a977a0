"""Raw -> force: profile scale/offset, tare, calibration fits, output units, non-force channels."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.errors import CalibrationError
from firmware_bridge.profiles import parse_profile
from sensing.calibration.conversion import FITS, Conversion, check_unit
from tests.sensing.store.test_store import cells_profile, mat_profile

RAW = np.array([[1000.0, 5.0], [2000.0, -7.0], [0.0, 0.0]])


def test_profile_scale_offset_and_unit_to_newtons() -> None:
    values, units = Conversion.from_profile(cells_profile()).apply(RAW)
    assert units == ["N", "counts"]
    assert np.allclose(values[:, 0], (RAW[:, 0] * 0.001 + 0.5) * 9.80665)
    assert np.array_equal(values[:, 1], RAW[:, 1])  # counts are not a force: kept as they are


@pytest.mark.parametrize(("unit", "per_newton"), [("N", 1.0), ("kgf", 9.80665),
                                                  ("lbf", 4.4482216152605)])
def test_output_units(unit: str, per_newton: float) -> None:
    profile = parse_profile('name = "n"\nprotocol = "lines"\n[[channels]]\nname = "a"\n'
                            'unit = "N"\n[[channels]]\nname = "b"\nunit = "lbs"\n')
    values, units = Conversion.from_profile(profile).apply(RAW, unit)
    assert units == [unit, unit]
    assert np.allclose(values[:, 0], RAW[:, 0] / per_newton)
    assert np.allclose(values[:, 1], RAW[:, 1] * 4.4482216152605 / per_newton)


def test_tare_is_subtracted_before_scale() -> None:
    conv = Conversion.from_profile(cells_profile(), {"tare": {"left": 1000.0, "right": 5.0}})
    values, _ = conv.apply(RAW, "kgf")
    # The tare is the new zero: it replaces the profile offset (docs/calibration.md).
    assert np.allclose(values[:, 0], (RAW[:, 0] - 1000.0) * 0.001)
    assert np.array_equal(values[:, 1], RAW[:, 1] - 5.0)


def test_a_calibration_fit_replaces_the_profile_scale() -> None:
    conversion = {"tare": {"left": 100.0}, "calibration": {"id": 3, "channels": {
        "left": {"fit": "quadratic", "coef": [1.0, 0.5, 0.001], "unit": "N"},
        "right": {"fit": "linear", "coef": [0.0, 2.0], "unit": "kgf"}}}}
    conv = Conversion.from_profile(cells_profile(), conversion)
    values, units = conv.apply(RAW)
    x = RAW[:, 0] - 100.0
    assert units == ["N", "N"]  # the calibrated channel is a force now
    assert np.allclose(values[:, 0], 1.0 + 0.5 * x + 0.001 * x**2)
    assert np.allclose(values[:, 1], RAW[:, 1] * 2.0 * 9.80665)


def test_new_fit_kinds_register_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FITS, "table", lambda spec: lambda x: np.interp(x, spec["x"], spec["y"]))
    conv = Conversion.from_profile(cells_profile(), {"calibration": {"channels": {
        "left": {"fit": "table", "x": [0, 2000], "y": [0, 100]}}}})
    assert np.allclose(conv.apply(RAW)[0][:, 0], [50, 100, 0])
    with pytest.raises(CalibrationError, match="unknown fit 'spline'"):
        Conversion.from_profile(cells_profile(), {"calibration": {"channels": {
            "left": {"fit": "spline"}}}})
    with pytest.raises(CalibrationError, match="coef"):
        Conversion.from_profile(cells_profile(), {"calibration": {"channels": {
            "left": {"fit": "linear", "coef": []}}}})


def test_mat_total_and_errors() -> None:
    conv = Conversion.from_profile(mat_profile())
    assert conv.names == ["total"] and conv.units("kgf") == ["raw"]
    values, units = conv.apply(np.array([[12.0], [0.0]]))
    assert units == ["raw"] and values[:, 0].tolist() == [12.0, 0.0]
    with pytest.raises(CalibrationError, match="expects"):
        conv.apply(RAW)
    with pytest.raises(CalibrationError, match="choose N, kgf, lbf"):
        check_unit("kg")
