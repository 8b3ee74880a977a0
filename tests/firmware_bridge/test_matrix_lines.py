"""The ``matrix_lines`` decoder: one mat frame per text line, in (n, rows, cols) blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FLAG_OUT_OF_RANGE
from firmware_bridge.profiles import parse_profile
from firmware_bridge.protocols import Decoder, make_decoder, read_size
from tests.firmware_bridge.test_lines import _same, run, split


def mat_decoder(options: str = "", rows: int = 2, cols: int = 3, raw_max: int = 255) -> Decoder:
    return make_decoder(parse_profile(
        f'name = "m"\nprotocol = "matrix_lines"\n[options]\n{options}\n'
        f"[matrix]\nrows = {rows}\ncols = {cols}\nraw_min = 0\nraw_max = {raw_max}\n"))


def frame_line(values: list[int], time: str | None = None, sep: str = ",") -> bytes:
    fields = ([time] if time is not None else []) + [str(v) for v in values]
    return sep.join(fields).encode()


def test_frames_are_reshaped_row_by_row() -> None:
    block, notices = run(mat_decoder(), [b"\n0,1,2,3,4,5\r\n6,7,8,9,10,11\r\n"])
    assert block is not None and block.values.shape == (2, 2, 3)
    assert block.values[1].tolist() == [[6, 7, 8], [9, 10, 11]]
    assert block.values.dtype == np.float64
    assert np.isnan(block.device_time).all() and notices == []


def test_kitronyx_style_header_with_trailing_comma_and_named_time_column() -> None:
    dec = mat_decoder('header = "yes"\ntime_column = "Time (sec)"\ntime_unit = "s"')
    data = (b"Time (sec),R0C0,R0C1,R0C2,R1C0,R1C1,R1C2,\n"
            b"01.01, 0,0,0,0,0,9\n02.01, 0,0,5,0,0,0\n"
            b"Time (sec),R0C0,R0C1,R0C2,R1C0,R1C1,R1C2,\n03.00, 1,2,3,4,5,6\n")
    block, notices = run(dec, [data])
    assert block is not None and block.device_time.tolist() == [1.01, 2.01, 3.0]
    assert block.values[2].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert dec.header_lines == 2 and notices == []  # type: ignore[attr-defined]


def test_lines_before_the_header_are_undecodable_when_a_header_is_expected() -> None:
    dec = mat_decoder('header = "yes"\ntime_column = 0')
    block, notices = run(dec, [b"\n1,0,0,0,0,0,0\nt,a,b,c,d,e,f\n2,0,0,0,0,0,1\n"])
    assert block is not None and block.device_time.tolist() == [0.002]
    assert dec.counters.undecodable == 1 and notices[0].detail == "no header yet"


def test_wrong_number_of_values_is_wrong_size_never_reshaped() -> None:
    dec = mat_decoder()
    data = b"\n0,1,2,3,4,5\n0,1,2,3,4\n0,1,2,3,4,5,6\n0,1,2,3,4,50,1,2,3,4,5\n6,7,8,9,10,11\n"
    block, notices = run(dec, [data])
    assert block is not None and len(block) == 2
    assert dec.counters.wrong_size == 3 and dec.counters.undecodable == 0
    assert [n.kind for n in notices] == ["wrong_size"] * 3
    assert notices[0].detail == "5 values, a frame has 6"
    assert notices[2].data["line"] == "0,1,2,3,4,50,1,2,3,4,5"


def test_values_out_of_range_are_kept_and_flagged() -> None:
    dec = mat_decoder()
    block, notices = run(dec, [b"\n0,1,2,3,4,5\n0,1,2,300,4,5\n-1,0,0,0,0,0\n"])
    assert block is not None and block.values[1, 1, 0] == 300 and block.values[2, 0, 0] == -1
    assert block.flags.tolist() == [0, FLAG_OUT_OF_RANGE, FLAG_OUT_OF_RANGE]
    assert dec.counters.out_of_range == 2
    assert [n.kind for n in notices] == ["out_of_range"]
    assert notices[0].data == {"frames": 2, "min": -1.0, "max": 300.0}


def test_tab_delimiter_and_time_column_in_ms() -> None:
    dec = mat_decoder('time_column = 0\ndelimiter = "tab"')
    block, _ = run(dec, [b"\n" + frame_line([1, 2, 3, 4, 5, 6], "1500", "\t") + b"\t\n"])
    assert block is not None and block.device_time.tolist() == [1.5]
    assert block.values.ravel().tolist() == [1, 2, 3, 4, 5, 6]


def test_time_column_in_the_middle() -> None:
    dec = mat_decoder("time_column = 2")
    block, _ = run(dec, [b"\n0,1,777,2,3,4,5\n"])
    assert block is not None and block.device_time.tolist() == [0.777]
    assert block.values.ravel().tolist() == [0, 1, 2, 3, 4, 5]


def test_a_first_line_shown_whole_by_its_time_is_kept() -> None:
    dec = mat_decoder("time_column = 0")
    block, notices = run(dec, [b"100,1,2,3,4,5,6\n110,0,1,2,3,4,5\n"])
    assert block is not None and len(block) == 2 and notices == []
    block, notices = run(mat_decoder("time_column = 0"), [b"00,1,2,3,4,5,6\n110,0,1,2,3,4,5\n"])
    assert block is not None and len(block) == 1
    assert "its time 00 is not shortly before" in notices[0].detail


def test_partial_first_line_is_skipped_and_counted() -> None:
    dec = mat_decoder()
    block, notices = run(dec, [b"4,5\n0,1,2,3,4,5\n"])
    assert block is not None and len(block) == 1
    assert dec.counters.undecodable == 1 and "partial first line" in notices[0].detail


def test_a_first_line_of_exactly_rows_by_cols_values_is_kept() -> None:
    """No time column: the value count shows the line whole; the first value's place and the
    time column's (when not first) do not change that."""
    block, notices = run(mat_decoder(), [b"0,1,2,3,4,5\n6,7,8,9,10,11\n"])
    assert block is not None and block.values[0].ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert notices == []
    block, notices = run(mat_decoder("time_column = 6\ntime_unit = \"s\""), [b"0,1,2,3,4,5,9\n"])
    assert block is not None and block.device_time.tolist() == [9.0] and notices == []


def test_text_that_is_not_a_header_is_undecodable() -> None:
    dec = mat_decoder()
    block, notices = run(dec, [b"\nhello there\n0,1,2,3,4,5\nERR,1,2,3,4,5\n"])
    assert block is not None and len(block) == 1
    assert dec.counters.undecodable == 2 and len(notices) == 2


@pytest.mark.parametrize("options, message", [
    ("rows = 3", "unknown key"), ('header = "no"\ntime_column = "t"', "header"),
    ('delimiter = "ab"', "delimiter"), ('prefix = "x"', "unknown key"),
])
def test_bad_options(options: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        mat_decoder(options)


def test_a_read_is_one_line() -> None:
    assert read_size(mat_decoder().profile) is None


def test_needs_a_matrix() -> None:
    with pytest.raises(ProfileError, match="needs a \\[matrix\\]"):
        make_decoder(parse_profile('name = "m"\nprotocol = "matrix_lines"\n'
                                   '[[channels]]\nname = "a"\n'))


# -- properties ----------------------------------------------------------------------------------

_value = st.integers(0, 300)
_frame = st.lists(_value, min_size=6, max_size=6).map(lambda v: frame_line(v).decode())
_messy = st.sampled_from([
    "t,a,b,c,d,e,f", "1,2,3", "1,2,3,4,5,6,7", "", " ", ",", "x,1,2,3,4,5", "1,,2,3,4,5",
    "0,1,2,3,4,50,1,2,3,4,5", "0,1,2,3,4,5,",
])
_stream = st.lists(st.tuples(_frame | _messy, st.sampled_from(["\n", "\r", "\r\n"])),
                   max_size=30).map(lambda xs: "".join(a + b for a, b in xs).encode())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_stream, cuts=st.lists(st.integers(0, 10**4), max_size=12),
       opts=st.sampled_from(["", 'delimiter = ","', 'first_line = "keep"']))
def test_any_chunking_gives_the_same_frames(data: bytes, cuts: list[int], opts: str) -> None:
    one, many = mat_decoder(opts), mat_decoder(opts)
    (fa, na), (fb, nb) = run(one, [data]), run(many, split(data, cuts))
    # out_of_range notices sum up each feed, so only their totals can match; the rest are per line
    _same((fa, [n for n in na if n.kind != "out_of_range"]),
          (fb, [n for n in nb if n.kind != "out_of_range"]))
    for notices, dec in ((na, one), (nb, many)):
        assert sum(n.data["frames"] for n in notices
                   if n.kind == "out_of_range") == dec.counters.out_of_range
    if fa is not None and fb is not None:
        np.testing.assert_array_equal(fa.flags, fb.flags)
    assert one.counters == many.counters


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_stream, cuts=st.lists(st.integers(0, 10**4), max_size=12), edits=st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 10**4),
              st.integers(0, 255)), max_size=8))
def test_corruption_only_counts(data: bytes, cuts: list[int],
                                edits: list[tuple[str, int, int]]) -> None:
    buf = bytearray(data)
    for op, pos, byte in edits:
        at = pos % (len(buf) + 1)
        if op == "insert":
            buf[at:at] = bytes([byte])
        elif at < len(buf):
            if op == "flip":
                buf[at] ^= 1 << (byte % 8)
            else:
                del buf[at]
    data = bytes(buf)
    dec = mat_decoder('delimiter = ","')
    block, _ = run(dec, split(data, cuts))
    n = 0 if block is None else len(block)
    c = dec.counters
    lines = [r for r in data.replace(b"\r", b"\n").split(b"\n")
             if (r[:-1] if r.endswith(b",") else r).strip()]
    assert c.frames == n
    assert n + c.undecodable + c.wrong_size + dec.header_lines == len(lines)  # type: ignore[attr-defined]
    if block is not None:  # nothing invented: every frame is one line's six numbers
        texts = {_six_numbers(r) for r in lines}
        for frame in block.values:
            assert tuple(frame.ravel()) in texts


def _six_numbers(line: bytes) -> tuple[float, ...] | None:
    """An independent reading: six comma-separated plain numbers, one trailing comma allowed."""
    fields = (line[:-1] if line.endswith(b",") else line).split(b",")
    try:
        nums = tuple(float(f) for f in fields)
    except ValueError:
        return None
    return nums if len(nums) == 6 else None
