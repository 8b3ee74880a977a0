"""The word-at-a-time reader of plain decimals (long runs): every number exactly what ``float()``
reads, every malformed line refused, never a guess."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.protocols._decimals import MAX_CHARS, read_plain
from firmware_bridge.protocols._numbers import HAND_MIN_BYTES, number, parse_block


def body_of(rows: list[list[str]], delim: bytes | None) -> bytes:
    return b"".join((delim or b"").join(t.encode() for t in row) + b"\n" for row in rows)


def same_floats(got: object, want: list[list[float | None]]) -> None:
    """Bit for bit: equal values, and no -0.0 anywhere."""
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.float64 and got.shape == (len(want), len(want[0]))
    np.testing.assert_array_equal(got.view(np.int64),
                                  np.array(want, np.float64).view(np.int64))


@pytest.mark.parametrize("text, value", [
    ("0", 0.0), ("-0", 0.0), ("-0.000", 0.0), ("7", 7.0), ("-7", -7.0), (".5", 0.5),
    ("-.5", -0.5), ("5.", 5.0), ("-5.", -5.0), ("00000001", 1.0), ("99999999", 99999999.0),
    ("-9999999", -9999999.0), ("1234.567", 1234.567), ("-0.1", -0.1), (".0000001", 1e-7),
    ("0.3", 0.3), ("80.9", 80.9), ("-12.30", -12.3),
])
def test_single_values_are_floats_values(text: str, value: float) -> None:
    same_floats(read_plain(f"{text},{text}\n".encode(), b",", 2), [[value, value]])


@pytest.mark.parametrize("text", ["-", ".", "-.", "1-2", "--1", "1.2.3", "..1", "1..", "12-",
                                  "-1-"])
def test_what_float_refuses_is_refused(text: str) -> None:
    assert number(text.encode()) is None
    assert read_plain(f"1,{text}\n2,3\n".encode(), b",", 2) is None


def test_a_line_with_another_field_count_refuses_the_block() -> None:
    assert read_plain(b"1,2\n3\n", b",", 2) is None
    assert read_plain(b"1,2\n3,4,5\n", b",", 2) is None
    assert read_plain(b"1,23,4\n", b",", 2) is None  # two lines glued: right total, wrong lines


def test_what_it_leaves_to_the_general_parser() -> None:
    assert read_plain(b"123456789,1\n", b",", 2) is False  # 9 bytes
    assert read_plain(b"1,\n", b",", 2) is False  # a trailing delimiter: an empty field
    assert read_plain(b"1,2\n\n3,4\n", b",", 2) is False  # an empty line
    assert read_plain(b"1,2", b",", 2) is False  # no line end
    assert read_plain(b"123456789,1,2\n", b",", 2) is None  # the count is wrong all the same


def test_one_field_per_line_without_delimiter() -> None:
    same_floats(read_plain(b"1\n-2.5\n.25\n", None, 1), [[1.0], [-2.5], [0.25]])


@pytest.mark.parametrize("delim", [b",", b";", b"\t", b"|"])
def test_any_one_byte_delimiter(delim: bytes) -> None:
    same_floats(read_plain(body_of([["1", "-2.5"], ["3.75", "4"]], delim), delim, 2),
                [[1.0, -2.5], [3.75, 4.0]])


# -- properties ----------------------------------------------------------------------------------

_plain = st.from_regex(r"\A-?[0-9]{0,8}(\.[0-9]{0,8})?\Z").filter(
    lambda t: 0 < len(t) <= MAX_CHARS)
_noise = st.text("0123456789-.", min_size=1, max_size=MAX_CHARS)
_decimal = st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 7)).map(
    lambda xk: f"{xk[0]:.{xk[1]}f}").filter(lambda t: len(t) <= MAX_CHARS)


@settings(max_examples=400, deadline=None)
@given(rows=st.integers(1, 3).flatmap(lambda nf: st.lists(
    st.lists(_plain | _noise | _decimal, min_size=nf, max_size=nf), min_size=1, max_size=6)),
       delim=st.sampled_from([b",", b";", b"\t"]))
def test_reads_exactly_what_float_reads(rows: list[list[str]], delim: bytes) -> None:
    got = read_plain(body_of(rows, delim), delim, len(rows[0]))
    want = [[number(t.encode()) for t in row] for row in rows]
    if any(v is None for row in want for v in row):
        assert got is None
    else:
        same_floats(got, want)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(_decimal, min_size=4, max_size=4), min_size=1, max_size=40))
def test_the_bulk_parser_takes_this_path_and_agrees_with_float(rows: list[list[str]]) -> None:
    reps = HAND_MIN_BYTES // len(body_of(rows, b",")) + 1  # a run long enough for this reader
    body = body_of(rows, b",") * reps
    got = parse_block(body, b",", 4)
    assert got is not None
    same_floats(got, [[float(t) + 0.0 for t in row] for row in rows] * reps)
    fast = read_plain(body, b",", 4)
    assert isinstance(fast, np.ndarray) and np.array_equal(fast.view(np.int64),
                                                           got.view(np.int64))
