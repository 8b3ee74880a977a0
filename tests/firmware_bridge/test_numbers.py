"""The bulk reader of clean runs: every number exactly what ``float()`` reads, whichever reader
takes the run (the C reader, numpy's integer reader, the word reader of long runs, loadtxt,
pyarrow). Every test here runs twice: with the C reader, and with numpy's alone, as where sotlog
was built without a C compiler."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge import native
from firmware_bridge.protocols import _numbers
from firmware_bridge.protocols._numbers import HAND_MIN_BYTES, _plain, number, parse_block


@pytest.fixture(autouse=True, scope="module", params=["C", "numpy"])
def readers(request: pytest.FixtureRequest) -> Iterator[str]:
    """The C reader where built (tests/firmware_bridge/test_ctext.py fails where it is not), or
    numpy's readers alone."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "numpy":
            mp.setattr(native, "ctext", None)
        yield request.param


def body_of(rows: list[list[str]], delim: bytes | None) -> bytes:
    return b"".join((delim or b"").join(t.encode() for t in row) + b"\n" for row in rows)


def float_rows(body: bytes, delim: bytes | None, nfields: int) -> np.ndarray | None:
    """An independent reading: each non-empty line's fields by ``float()``, -0 as 0; None if a
    line is not ``nfields`` numbers."""
    rows = []
    for line in body.split(b"\n"):
        if delim not in (None, b" ") and line.endswith(delim):
            line = line[:-1]
        if not line:
            continue
        fields = line.split() if delim == b" " else line.split(delim) if delim else [line]
        values = [number(f) for f in fields]
        if len(values) != nfields or None in values:
            return None
        rows.append(values)
    return np.array(rows, np.float64).reshape(-1, nfields)


def same(got: np.ndarray | None, want: np.ndarray | None) -> None:
    """Both refused, or equal bit for bit (no -0.0 anywhere)."""
    if want is None:
        assert got is None
        return
    assert got is not None and got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("text, value", [
    ("0", 0.0), ("-0", 0.0), ("-0.000", 0.0), ("7", 7.0), (".5", 0.5), ("-.5", -0.5),
    ("5.", 5.0), ("-5.", -5.0), ("007", 7.0), ("1234.567", 1234.567), ("-0.1", -0.1),
    ("80.9", 80.9), ("-12.30", -12.3), ("123456789012345", 123456789012345.0),
    ("0.000000000000000000001", 1e-21), ("9007199254740993", 9007199254740992.0),
    ("-99999999999999999999", -1e20), ("328.796806", 328.796806),
])
def test_single_values_are_floats_values(text: str, value: float) -> None:
    for reps in (1, HAND_MIN_BYTES // len(text) + 1):  # numpy's reader, then the word reader
        same(parse_block(f"{text},{text}\n".encode() * reps, b",", 2),
             np.full((reps, 2), value))


@pytest.mark.parametrize("text", ["-", ".", "-.", ".-5", "1-2", "--1", "1.2.3", "..1", "1..",
                                  "12-", "-1-", "5.-3", ""])
def test_what_float_refuses_is_refused(text: str) -> None:
    assert number(text.encode()) is None
    assert parse_block(f"1,{text}\n2,3\n".encode(), b",", 2) is None
    assert parse_block(f"1.5,{text}\n2.5,3\n".encode(), b",", 2) is None
    if text:  # alone, "" is an empty line
        assert parse_block(f"{text}\n".encode(), None, 1) is None


def test_a_line_with_another_field_count_refuses_the_run() -> None:
    assert parse_block(b"1,2\n3\n", b",", 2) is None
    assert parse_block(b"1,2\n3,4,5\n", b",", 2) is None
    assert parse_block(b"1,23,4\n", b",", 2) is None  # two lines glued: right total, wrong lines
    assert parse_block(b"1.5,2\n3,4.55,6\n", b",", 2) is None


def test_empty_lines_and_one_trailing_delimiter_are_allowed() -> None:
    same(parse_block(b"1,2\n\n3,4,\n", b",", 2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    same(parse_block(b"\n1.5\n", None, 1), np.array([[1.5]]))


def test_the_bulk_parser_on_empty_lines_gives_no_rows_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for body in (b"\n\n\n", b",\n\n", b"\n"):
            got = parse_block(body, b",", 3)
            assert got is not None and got.shape == (0, 3)


def test_numpys_reader_takes_fixed_decimals_and_leaves_the_rest() -> None:
    body = b"1.50,-2,.125\n-0.25,7,3.000\n"
    same(_plain(body, b",", 3), float_rows(body, b",", 3))
    assert _plain(b"1.5,2\n1.25,2\n", b",", 2) is False  # decimals vary: loadtxt's
    assert _plain(b"1.5,2\n1,2.5\n", b",", 2) is False  # the dot changes column
    assert _plain(b"1,2\n\n", b",", 2) is False  # an empty line: tidied first
    assert _plain(b"12345678901234567890,1\n", b",", 2) is False  # not exact as an integer
    assert _plain(b"-59077.5\t7\n1\t2.5\n", b"\t", 2) is False


# -- properties ----------------------------------------------------------------------------------

_noise = st.text("0123456789-.", min_size=1, max_size=9)
_column = st.integers(0, 4).flatmap(lambda k: st.lists(
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.{k}f}"), min_size=1, max_size=8))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.lists(_column, min_size=1, max_size=4), noise=st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 3), _noise), max_size=3),
       delim=st.sampled_from([b",", b";", b"\t"]), long=st.booleans())
def test_plain_runs_read_exactly_what_float_reads(columns: list[list[str]],
                                                  noise: list[tuple[int, int, str]],
                                                  delim: bytes, long: bool) -> None:
    """Fixed-decimal columns (numpy's reader) with stray tokens; long: the word reader's too."""
    n = min(len(c) for c in columns)
    rows = [[c[i] for c in columns] for i in range(n)]
    for line, col, token in noise:
        rows[line % n][col % len(columns)] = token
    body = body_of(rows, delim)
    if long:
        body *= HAND_MIN_BYTES // len(body) + 1
    same(parse_block(body, delim, len(columns)), float_rows(body, delim, len(columns)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.lists(_column, min_size=1, max_size=4),
       spaces=st.lists(st.sampled_from(["", " ", "  "]), min_size=1, max_size=8),
       noise=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3),
                                st.sampled_from([" ", "  ", " -", " .", "5 ", " 5 ", "1 2", ""])),
                      max_size=2),
       delim=st.sampled_from([b",", b";", b"\t"]), trailing=st.sampled_from(["", ",", ", "]),
       long=st.booleans())
def test_a_space_after_each_delimiter_reads_what_float_reads(
        columns: list[list[str]], spaces: list[str], noise: list[tuple[int, int, str]],
        delim: bytes, trailing: str, long: bool) -> None:
    """``1, 2, 3`` and the Kitronyx logger's ``01.01, 0,0``: the spaces taken out where each opens
    a number (plain readers), any other space left to the general readers, as ``float()``
    reads each field."""
    n = min(len(c) for c in columns)
    sep = delim.decode()
    lines = []
    for i in range(n):
        fields = [c[i] for c in columns]
        for line, col, token in noise:
            if line % n == i:
                fields[col % len(fields)] = token
        text = "".join((sep + spaces[j % len(spaces)] if j else "") + f
                       for j, f in enumerate(fields))
        lines.append(text + trailing.replace(",", sep) + "\n")
    body = "".join(lines).encode()
    if long:
        body *= HAND_MIN_BYTES // len(body) + 1
    same(parse_block(body, delim, len(columns)), float_rows(body, delim, len(columns)))


def test_the_kitronyx_loggers_lines_take_the_plain_readers() -> None:
    """Its first value follows the time after a comma and a space: read as plain decimals, not
    by the general readers (which refuse nothing here, but are several times slower)."""
    body = b"01.01, 0,0,12,255\n02.01, 3,0,0,7\n"
    assert _numbers._squeezed(body, b",") == b"01.01,0,0,12,255\n02.01,3,0,0,7\n"
    same(parse_block(body, b",", 5), float_rows(body, b",", 5))
    for other in (b"1, ,2\n", b"1, 2, \n", b"1,  2\n", b"1 ,2\n", b" 1,2\n", b"1, "):
        assert _numbers._squeezed(other, b",") == other  # a space that does not open a number


_token = st.text("0123456789-.+eE ", min_size=1, max_size=8) | st.floats(
    -1e30, 1e30, allow_nan=False).map(repr) | st.sampled_from(
    ["1e400", "-1e-400", " 7 ", "+.5", "1.e5", ".e5", "-0", "1 2", "  "])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(1, 4).flatmap(lambda nf: st.lists(
    st.lists(_token, min_size=nf, max_size=nf), min_size=1, max_size=5)),
       delim=st.sampled_from([b",", b";", b"\t"]))
def test_general_runs_read_the_same_with_and_without_pyarrow(rows: list[list[str]],
                                                             delim: bytes) -> None:
    """Long runs of any number text: pyarrow's reader where installed, loadtxt's without."""
    nfields = len(rows[0])
    body = body_of(rows, delim)
    body *= ((_numbers.ARROW_MIN_KIB + nfields) << 10) // len(body) + 1
    want = float_rows(body, delim, nfields)
    same(parse_block(body, delim, nfields), want)
    saved = _numbers._pyarrow
    _numbers._pyarrow = lambda: None  # type: ignore[assignment]
    try:
        same(parse_block(body, delim, nfields), want)
    finally:
        _numbers._pyarrow = saved


def test_works_without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    _numbers._pyarrow.cache_clear()
    try:
        assert _numbers._pyarrow() is None
        body = b"1e3, 2.5, +7\n" * 4000
        same(parse_block(body, b",", 3), np.tile([1000.0, 2.5, 7.0], (4000, 1)))
    finally:
        _numbers._pyarrow.cache_clear()
