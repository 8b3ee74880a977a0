"""The C text passes (``firmware_bridge/_ctext.c``, built by setup.py): each does the whole job
exactly as the numpy code does, or says it cannot and leaves it to that code."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import native
from firmware_bridge.protocols import _text
from firmware_bridge.protocols._numbers import number

ctext = native.ctext


def test_the_c_passes_are_built() -> None:
    """The README's install builds them where gcc and Python's headers are (CI installs both);
    without them sotlog works the same, slower, and this test says so."""
    assert ctext is not None, ("firmware_bridge._ctext was not built: install a C "
                               "compiler and Python's headers, then pip install -e . again")


def floats_of(body: bytes, delim: bytes, nfields: int) -> np.ndarray | None:
    """Each line's fields by ``float()`` (-0 as 0), or None if a line is not nfields numbers."""
    rows = []
    for line in body.split(b"\n")[:-1]:
        values = [number(f) for f in line.split(delim)]
        if len(values) != nfields or None in values:
            return None
        rows.append(values)
    return np.array(rows, np.float64).reshape(-1, nfields)


def read(body: bytes, delim: bytes, nfields: int) -> np.ndarray | None:
    assert ctext is not None
    got = ctext.read_decimals(body, delim[0], nfields)
    return None if got is None else np.frombuffer(got).reshape(-1, nfields)


_plain = st.builds(lambda sign, whole, dot, frac: sign + whole + (("." + frac) if dot else ""),
                   st.sampled_from(["", "-"]), st.text("0123456789", max_size=9),
                   st.booleans(), st.text("0123456789", max_size=9))
_odd = st.sampled_from(["", "-", ".", "-.", "1.2.3", "--1", "+1", "1e5", " 1", "1 ", "0x1",
                        "1234567890123456", "12345678.12345678", "-0", "-0.000", "007"])


@settings(max_examples=500, deadline=None)
@given(rows=st.integers(1, 5).flatmap(lambda nf: st.lists(
    st.lists(_plain | _odd, min_size=nf, max_size=nf), min_size=1, max_size=6)),
       delim=st.sampled_from([b",", b";", b"\t"]), glue=st.integers(0, 3))
def test_decimals_read_as_float_reads_them_or_not_at_all(rows: list[list[str]], delim: bytes,
                                                          glue: int) -> None:
    """Every line read, each field the float64 ``float()`` gives, or None; a run of plain
    decimals of at most 15 digits is always read. ``glue``: a line end taken out, two lines as
    one, so their field count is wrong."""
    nfields = len(rows[0])
    lines = [delim.join(f.encode() for f in row) for row in rows]
    if glue and len(lines) > 1:
        k = glue % (len(lines) - 1)
        lines[k:k + 2] = [lines[k] + lines[k + 1]]
    body = b"".join(line + b"\n" for line in lines)
    want = floats_of(body, delim, nfields)
    got = read(body, delim, nfields)
    if got is None:
        plain = all(f.strip(b"-").replace(b".", b"", 1).isdigit()
                    and len(f.strip(b"-").replace(b".", b"")) <= 15
                    and f.count(b"-") <= f.startswith(b"-")
                    for line in lines for f in line.split(delim))
        assert not (plain and want is not None), body  # a run it had to read
        return
    assert want is not None, body
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


def test_decimals_refuse_what_is_not_whole_lines() -> None:
    for body in (b"", b"1,2", b"1,2\n3", b"1,2\n\n", b"\n", b"1,2,\n", b",1\n"):
        assert read(body, b",", 2) is None, body
    for delim in (b"\n", b"-", b".", b"7"):  # not a delimiter: fields would run into lines
        assert read(b"1\n2\n", delim, 2) is None
    got = read(b"-0,0.1\n123456789012345,-.5\n", b",", 2)
    assert got is not None and got.tolist() == [[0.0, 0.1], [123456789012345.0, -0.5]]
    assert not np.signbit(got[0, 0])  # -0 reads as 0


@settings(max_examples=500, deadline=None)
@given(body=st.lists(st.sampled_from([b"a", b"12", b"\r", b"\n", b"\r\n"]), max_size=40).map(
    b"".join))
def test_crlf_to_lf_takes_out_each_crs_of_a_crlf_or_refuses(body: bytes) -> None:
    assert ctext is not None
    lone = body.replace(b"\r\n", b"").count(b"\r")
    got = ctext.crlf_to_lf(body)
    assert got == (None if lone else body.replace(b"\r\n", b"\n"))


@given(body=st.lists(st.sampled_from([b"1,2", b"\r", b"\n", b"\r\n"]), max_size=300).map(
    b"".join))
@settings(max_examples=300, deadline=None)
def test_line_ends_are_made_the_same_with_and_without_c(body: bytes) -> None:
    """``one_line_end``, which every text decoder's splitter uses: the same text either way."""
    with_c = _text.one_line_end(body)
    saved, native.ctext = native.ctext, None
    try:
        assert _text.one_line_end(body) == with_c
    finally:
        native.ctext = saved


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200), allowed=st.binary(max_size=20))
def test_only_says_what_translate_says(body: bytes, allowed: bytes) -> None:
    assert ctext is not None
    assert ctext.only(body, allowed) is (not body.translate(None, allowed))


@settings(max_examples=300, deadline=None)
@given(symbols=st.integers(1, 17).flatmap(lambda k: st.lists(
    st.binary(min_size=1, max_size=1), min_size=k, max_size=k, unique=True)),
       picks=st.lists(st.integers(0, 16), max_size=301))
def test_nibbles_keep_every_byte_of_sixteen_values_or_fewer(symbols: list[bytes],
                                                           picks: list[int]) -> None:
    """A nibble a byte and back, odd lengths too; None for more than 16 values or no bytes."""
    assert ctext is not None
    data = b"".join(symbols[p % len(symbols)] for p in picks)
    blob = ctext.nibbles(data)
    if not data or len(set(data)) > 16:
        assert blob is None
        return
    assert blob is not None and len(blob) <= 2 + 16 + (len(data) + 1) // 2
    assert ctext.unnibbles(blob) == data


def test_unnibbles_refuses_what_nibbles_did_not_make() -> None:
    assert ctext is not None
    for blob in (b"", b"\x00\x00", b"\x11" + bytes(17), b"\x02ab\x02\x10", b"\x02ab\x01",
                 b"\x02a"):
        try:
            ctext.unnibbles(blob)
        except ValueError:
            continue
        raise AssertionError(f"{blob!r} was read")


def test_one_space_after_a_delimiter_opens_a_number() -> None:
    """``1, 2`` (sketches printing ``", "``, the Kitronyx log's ``01.01, 0``) reads as float()
    reads it; a space anywhere else, or a space that opens nothing, is refused."""
    got = read(b"1, 2\n-3, -.5\n", b",", 2)
    assert got is not None and got.tolist() == [[1.0, 2.0], [-3.0, -0.5]]
    for body in (b" 1,2\n", b"1,  2\n", b"1, \n", b"1 ,2\n", b"1,2 \n", b"1, ,2\n"):
        assert read(body, b",", 2) is None, body
