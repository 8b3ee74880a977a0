"""Session metadata, modelled once: subject codes that look like pseudonyms, one-line errors."""

from __future__ import annotations

import pytest

from firmware_bridge.errors import MetadataError
from sensing.metadata import FIELDS, Block, SessionMeta, subject_code_problem
from sensing.vocabulary import SESSION_META_FIELDS, SUBJECT_CODE_ENV

PSEUDONYMS = ["P-0042", "P-9", "p0042", "SOT-017", "CLN-007", "site3-A12", "AB-12",
              "X-99999999", "S01.v2", "0042"]
NOT_PSEUDONYMS = {  # code -> words of the reason
    "John.Smith": "no digit",
    "MaryJones": "no digit",
    "Smith": "no digit",
    "1975-03-14": "holds a date (1975-03-14)",
    "14.03.1975": "holds a date (14.03.1975)",
    "14/3/75": "only letters, digits",  # '/' is not allowed at all
    "14.3.75": "holds a date (14.3.75)",
    "Smith_J_19750314": "holds a date (19750314)",
    "P-14031975": "holds a date (14031975)",
    "S-20240311": "holds a date (20240311)",
    "Jane-7": "'Jane' reads like a name",
    "jones7": "'jones' reads like a name",
    "SMITH-2": "'SMITH' reads like a name",
    "P-0042\n": "only letters, digits",  # $ would have matched before the newline
    "P 0042": "only letters, digits",
    "-P0042": "not starting with",
    "P" * 33 + "1": "at most 32",
}


@pytest.mark.parametrize("code", PSEUDONYMS)
def test_pseudonyms_pass(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SUBJECT_CODE_ENV, raising=False)
    assert subject_code_problem(code) is None
    assert SessionMeta(subject_code=code).subject_code == code


@pytest.mark.parametrize(("code", "why"), sorted(NOT_PSEUDONYMS.items()))
def test_names_and_dates_are_refused_saying_why(code: str, why: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SUBJECT_CODE_ENV, raising=False)
    with pytest.raises(MetadataError) as refused:
        SessionMeta(subject_code=code)
    line = str(refused.value)
    assert why in line and "P-0042" in line and "\n" not in line.replace(repr(code), "")


def test_a_site_pattern_replaces_the_shape_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SUBJECT_CODE_ENV, r"[A-Z]{3}-\d{4}")
    assert subject_code_problem("ABC-1234") is None
    assert "site's pattern" in (subject_code_problem("P-0042") or "")
    assert "only letters" in (subject_code_problem("ABC 1234") or "")  # the charset still holds
    monkeypatch.setenv(SUBJECT_CODE_ENV, "([")
    assert "not a valid pattern" in (subject_code_problem("P-0042") or "")


def test_every_field_is_checked_in_one_line() -> None:
    with pytest.raises(MetadataError) as refused:
        SessionMeta.from_dict({"position": "side", "category": "IV", "body_weight_kg": 900,
                               "blocks": [{"side": "up", "landmark": "knee"}], "name": "x"})
    line = str(refused.value)
    for words in ("position must be one of prone, supine", "category must be one of",
                  "body weight must be 1-400 kg", "block side must be left or right",
                  "block landmark must be one of", "name"):
        assert words in line
    assert Block.parse("left:iliac_crest:30").angle_deg == 30.0
    with pytest.raises(MetadataError, match="SIDE:LANDMARK"):
        Block.parse("left")
    assert SessionMeta(position="", note=None).as_dict()["position"] is None  # form blanks


def test_the_light_field_list_is_the_models() -> None:
    """A list reads the metadata columns by ``SESSION_META_FIELDS`` without pydantic."""
    assert SESSION_META_FIELDS == FIELDS
