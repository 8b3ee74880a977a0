"""The one rounding rule: decimals by unit, and significant digits for a gain per count."""

from __future__ import annotations

from sensing import rounding


def test_a_unit_keeps_its_decimals_and_a_gain_its_significant_digits() -> None:
    assert rounding.rounded(205.6349, "N") == 205.6
    assert rounding.rounded(1.0252676459999748, "s") == 1.03
    assert rounding.rounded(0.25, "a profile's own") == 0.2  # one decimal (round half to even)
    assert rounding.significant("N") is None
    assert rounding.significant("kgf/count") == 4
    assert rounding.rounded(0.000467123, "N/count") == 0.0004671
    assert rounding.rounded(46.7123, "N/count") == 46.71
    assert rounding.as_dict()["significant"] == {"/count": 4}


def test_python_messages_show_numbers_by_the_same_rule() -> None:
    assert rounding.shown(123.456, "raw") == "123"
    assert rounding.shown(1.0252676459999748, "s") == "1.03"
    assert rounding.shown(0.000467123, "N/count") == "0.0004671"
    assert rounding.shown(80.94, "N") == "80.9"
