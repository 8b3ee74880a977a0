"""The ``lines`` decoder: messy Arduino/OpenScale text in, (n, channels) frames out."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.protocols import Decoder, make_decoder, read_size
from firmware_bridge.protocols._numbers import number, parse_block
from firmware_bridge.protocols._text import MAX_LINE

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def lines_profile(options: str = "", channels: tuple[object, ...] = (1, 2)) -> str:
    """Profile TOML for a lines device with ``options`` and one channel per column spec."""
    text = f'name = "t"\nprotocol = "lines"\n[options]\n{options}\n'
    for i, col in enumerate(channels):
        text += f'[[channels]]\nname = "c{i}"\n'
        if col is not None:
            text += f"column = {col!r}\n".replace("'", '"')
    return text


def decoder(options: str = "", channels: tuple[object, ...] = (1, 2)) -> Decoder:
    return make_decoder(parse_profile(lines_profile(options, channels)))


def run(dec: Decoder, chunks: list[bytes], host_times: list[float] | None = None,
        flush: bool = True) -> tuple[FrameBlock | None, list[Notice]]:
    """Feed ``chunks`` (then flush); all frames in one block, all notices in order."""
    blocks, notices = [], []
    times = host_times if host_times is not None else [0.0] * len(chunks)
    for chunk, t in zip(chunks, times, strict=True):
        got = dec.feed(chunk, t)
        notices += got.notices
        if got.frames is not None:
            blocks.append(got.frames)
    if flush:
        got = dec.flush(times[-1] if times else 0.0)
        notices += got.notices
        if got.frames is not None:
            blocks.append(got.frames)
    return (FrameBlock.concat(blocks) if blocks else None), notices


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)] or [b""]


TIMED = 'time_column = 0\ntime_unit = "ms"'


# -- the messy cases, one by one -----------------------------------------------------------------


def test_mixed_line_endings_in_one_stream() -> None:
    data = b"h,a,b\r\n1000,1,2\r1010,3,4\n1020,5,6\r\n1030,7,8\r"
    block, notices = run(decoder(TIMED), [data])
    assert block is not None
    assert block.values.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert block.device_time.tolist() == [1.0, 1.01, 1.02, 1.03]
    assert notices == []


def test_crlf_torn_between_two_chunks_is_one_line_end() -> None:
    block, notices = run(decoder(TIMED), [b"h,a,b\r\n1000,1,2\r", b"\n1010,3,4\r", b"\n"])
    assert block is not None and block.values.tolist() == [[1, 2], [3, 4]]
    assert notices == []


def test_header_at_start_and_repeated_midstream_is_skipped_and_counted_as_header() -> None:
    dec = decoder(TIMED)
    data = b"t,a,b\n1,10,20\n2,11,21\nt,a,b\n3,12,22\nt,a,b\n4,13,23\n"
    block, notices = run(dec, [data])
    assert block is not None and block.values[:, 0].tolist() == [10, 11, 12, 13]
    assert dec.header_lines == 3  # type: ignore[attr-defined]
    assert dec.counters.undecodable == 0 and notices == []


def test_missing_header_is_fine() -> None:
    dec = decoder(TIMED)
    block, _ = run(dec, [b"\n1,10,20\n2,11,21\n3,12,22\n"])  # begins at a line end: whole
    assert block is not None and block.values.tolist() == [[10, 20], [11, 21], [12, 22]]
    assert dec.counters.undecodable == 0


def test_header_found_late_is_taken_when_it_fits_the_data() -> None:
    dec = decoder(TIMED)
    block, notices = run(dec, [b"\n1,10,20\n2,11,21\ntime,a,b\n3,12,22\ntime,a,b\n"])
    assert block is not None and len(block) == 3
    assert dec.header_lines == 2 and notices == []  # type: ignore[attr-defined]


def test_glued_lines_are_counted_never_split() -> None:
    dec = decoder(TIMED)
    data = b"t,a,b\n1000,12.3,45.6\n1010,12.4,45.71020,12.5,45.8\n1030,12.6,45.9\n"
    block, notices = run(dec, [data])
    assert block is not None
    assert block.values.tolist() == [[12.3, 45.6], [12.6, 45.9]]
    assert dec.counters.undecodable == 1
    assert notices[0].kind == "undecodable"
    assert notices[0].data["line"] == "1010,12.4,45.71020,12.5,45.8"
    assert "5 field(s), expected 3" in notices[0].detail


def test_text_prefix_before_the_numbers_is_removed() -> None:
    block, notices = run(decoder(TIMED), [b"\nReading: 1,10,20\nReading: 2,11,21\n"])
    assert block is not None and block.values.tolist() == [[10, 20], [11, 21]]
    assert notices == []


def test_nau7802_reading_lines_with_greeting() -> None:
    dec = make_decoder(load_profile("nau7802-arduino"))
    data = (b"Qwiic Scale Example\r\nScale detected!\r\n"
            b"Reading: 8421\r\nReading: -12\r\nReading: 77\r\n")
    block, notices = run(dec, [data])
    assert block is not None and block.values.ravel().tolist() == [8421, -12, 77]
    assert np.isnan(block.device_time).all()
    assert [n.data["line"] for n in notices] == ["Qwiic Scale Example", "Scale detected!"]


def test_trailing_delimiter_and_unit_column_openscale() -> None:
    dec = make_decoder(load_profile("openscale"))
    block, notices = run(dec, [(FIXTURES / "text" / "openscale_kg.txt").read_bytes()])
    assert block is not None
    assert block.values.ravel().tolist() == [0.0, 0.01, -0.01, 12.47, 31.96, 32.05, 32.02, 31.99,
                                             32.04, 0.02]
    assert block.device_time.tolist() == pytest.approx([1.042 + 0.1 * i for i in range(10)])
    preamble = [n.data["line"] for n in notices]
    assert preamble[0] == "Serial Load Cell Converter version 1.2"
    assert preamble[-1] == "Readings:"
    assert len(preamble) == dec.counters.undecodable == 6


def test_stream_starting_mid_line_skips_and_counts_the_partial_first_line() -> None:
    dec = decoder(TIMED)
    block, notices = run(dec, [b"00,12.3,45.6\n1010,12.4,45.7\n1020,12.5,45.8\n"])
    assert block is not None and block.device_time.tolist() == [1.01, 1.02]
    assert dec.counters.undecodable == 1
    assert "partial first line" in notices[0].detail and notices[0].data["line"] == "00,12.3,45.6"


def test_a_first_line_shown_whole_by_its_time_is_kept() -> None:
    """The next line's time, less than 10**digits on from the first's, shows it was not cut."""
    block, notices = run(decoder(TIMED), [b"1000,1,2\n1010,3,4\n1020,5,6\n"])
    assert block is not None and block.values.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert block.device_time.tolist() == [1.0, 1.01, 1.02] and notices == []


@pytest.mark.parametrize(("first", "why"), [
    (b"00,1,2", "its time 00 is not shortly before the next line's 1010"),  # "1000" cut
    (b"9,1,2", "its time 9 is not shortly before the next line's 1010"),  # "999" cut
    (b"2", "1 field(s)"),  # cut inside the last field: too few fields
])
def test_a_first_line_that_may_be_cut_is_counted(first: bytes, why: str) -> None:
    dec = decoder(TIMED)
    block, notices = run(dec, [first + b"\n1010,3,4\n1020,5,6\n"])
    assert block is not None and block.values.tolist() == [[3, 4], [5, 6]]
    assert dec.counters.undecodable == 1 and notices[0].data["line"] == first.decode()
    assert notices[0].detail.startswith("partial first line") and why in notices[0].detail


def test_a_first_line_without_a_time_first_cannot_be_shown_whole() -> None:
    """A cut inside the first field would leave a number of its own: not kept, counted."""
    dec = decoder("time_column = 2", (0, 1))
    block, notices = run(dec, [b"12,34,1000\n56,78,1010\n90,12,1020\n"])
    assert block is not None and block.values.tolist() == [[56, 78], [90, 12]]
    assert "no time in the first column" in notices[0].detail


def test_a_first_line_after_a_label_is_whole() -> None:
    """A cut that fell inside the label leaves the number whole: ``ing: 8421``."""
    dec = make_decoder(load_profile("nau7802-arduino"))
    block, notices = run(dec, [b"ing: 8421\r\nReading: -12\r\n"])
    assert block is not None and block.values.ravel().tolist() == [8421, -12] and not notices


def test_a_first_line_left_alone_at_the_end_cannot_be_shown_whole() -> None:
    dec = decoder(TIMED)
    block, notices = run(dec, [b"1000,1,2\n"])
    assert block is None and dec.counters.undecodable == 1
    assert "no line after it" in notices[0].detail


def test_a_cut_counts_the_unfinished_line_and_decodes_nothing_more() -> None:
    dec = decoder(TIMED)
    dec.feed(b"\n1000,1,2\n1010,3,4\n1020,5", 0.0)
    out = dec.flush(1.0, cut=True)
    assert out.frames is None and not out.notices
    c = dec.counters
    assert (c.frames, c.cut_bytes, c.held_bytes, c.undecodable) == (2, 6, 0, 0)
    assert c.lines == 3 and c.blank_lines == 1


def test_first_line_keep_takes_it() -> None:
    block, _ = run(decoder(TIMED + '\nfirst_line = "keep"'), [b"1000,1,2\n1010,3,4\n"])
    assert block is not None and len(block) == 2


def test_messy_fixture_every_line_accounted_for() -> None:
    dec = make_decoder(load_profile("hx711-arduino"))
    block, notices = run(dec, [(FIXTURES / "text" / "hx711_messy.txt").read_bytes()])
    assert block is not None
    assert (block.device_time * 1000).round().tolist() == [1000, 1012, 1024, 1036, 1048, 1084,
                                                             1096, 1108, 1120]
    assert block.values[-1].tolist() == [18302, 20235]
    assert dec.counters.undecodable == 3 and dec.header_lines == 2  # type: ignore[attr-defined]
    assert [n.data["line"] for n in notices] == [
        ".3,20211", "1060,18262,202091072,18270,20212", "HX711 not ready"]


def test_text_in_a_channel_column_is_undecodable() -> None:
    dec = decoder(TIMED)
    block, notices = run(dec, [b"\n1,10,20\n2,11,21\n3,1x,22\n4,,23\n5,1.2.3,24\n6,13,23\n"])
    assert block is not None and block.device_time.tolist() == [0.001, 0.002, 0.006]
    assert dec.counters.undecodable == 3 and len(notices) == 3


def test_columns_by_header_name_and_tab_delimiter() -> None:
    dec = decoder('time_column = "time (s)"\ntime_unit = "s"', ("right kg", "left kg"))
    data = b"time (s)\tleft kg\tright kg\n0.00\t1.5\t2.5\n0.01\t1.6\t2.6\n"
    block, notices = run(dec, [data])
    assert block is not None and block.values.tolist() == [[2.5, 1.5], [2.6, 1.6]]
    assert block.device_time.tolist() == [0.0, 0.01] and notices == []


def test_named_columns_wait_for_the_header() -> None:
    dec = decoder('time_column = "t"', ("a",))
    block, notices = run(dec, [b"\n1,10\n2,11\nt,a\n3,12\n4,13\n"])
    assert block is not None and block.values.ravel().tolist() == [12, 13]
    assert dec.counters.undecodable == 2 and "no header yet" in notices[0].detail


def test_unnamed_columns_take_the_next_number_skipping_text() -> None:
    # bogde/HX711 example style: label, value, label, value
    dec = decoder('delimiter = "tab"', (None, None))
    data = b"\none reading:\t-0.1\t| average:\t-0.04320\none reading:\t0.2\t| average:\t0.1\n"
    block, _ = run(dec, [data])
    assert block is not None and block.values.tolist() == [[-0.1, -0.0432], [0.2, 0.1]]


def test_space_and_semicolon_delimiters_found_automatically() -> None:
    block, _ = run(decoder(TIMED), [b"\n1  10 20\n2 11   21 \n"])
    assert block is not None and block.values.tolist() == [[10, 20], [11, 21]]
    block, _ = run(decoder(TIMED), [b"\n1;10;20\n2;11;21\n"])
    assert block is not None and block.values.tolist() == [[10, 20], [11, 21]]


def test_host_time_is_when_the_line_end_arrived() -> None:
    dec = decoder(TIMED)
    block, _ = run(dec, [b"\n1,10,20\n2,1", b"1,21", b"\n3,12,22\n"], [5.0, 6.0, 7.0])
    assert block is not None and block.host_time.tolist() == [5.0, 7.0, 7.0]


def test_a_lone_last_line_without_end_is_decoded_on_flush() -> None:
    dec = decoder(TIMED)
    block, _ = run(dec, [b"\n1,10,20\n2,11,21\n3,12,22"], [1.0])
    assert block is not None and len(block) == 3
    block, _ = run(decoder(TIMED), [b"\n1,10,20\n2,11,21\n3,12,22"], [1.0], flush=False)
    assert block is not None and len(block) == 2


def test_overlong_line_is_counted_once_however_it_arrives() -> None:
    junk = b"7" * (MAX_LINE + 10)
    data = b"\n1,10,20\n2,11,21\n" + junk + b"\n3,12,22\n"
    for chunks in ([data], split(data, [20, 20 + MAX_LINE // 2, 25 + MAX_LINE])):
        dec = decoder(TIMED)
        block, notices = run(dec, chunks)
        assert block is not None and block.device_time.tolist() == [0.001, 0.002, 0.003]
        assert dec.counters.undecodable == 1 and "longer than" in notices[0].detail
        assert notices[0].data["line"] == "7" * 200


def test_a_read_is_one_line() -> None:
    assert read_size(parse_profile(lines_profile())) is None


def test_counts_bytes_and_frames() -> None:
    dec = decoder(TIMED)
    run(dec, [b"\n1,10,20\n", b"2,11,21\n"])
    assert dec.counters.bytes == 17 and dec.counters.frames == 2


@pytest.mark.parametrize("options, channels, message", [
    ('delimiter = "::"', (1,), "delimiter"),
    ('delimiter = "5"', (1,), "delimiter"),
    ('header = "maybe"', (1,), "header"),
    ('time_unit = "min"\ntime_column = 0', (1,), "time_unit"),
    ("time_column = -1", (1,), "time_column"),
    ('bogus = 1', (1,), "unknown key"),
    ('header = "no"\ntime_column = "t"', (1,), "header"),
    ('header = "no"', ("weight",), "header"),
    ("time_column = 1", (1,), "share a column"),
    ('first_line = "drop"', (1,), "first_line"),
])
def test_bad_options_are_one_line_profile_errors(options: str, channels: tuple[object, ...],
                                                 message: str) -> None:
    with pytest.raises(ProfileError, match=message) as err:
        decoder(options, channels)
    assert "\n" not in str(err.value)


# -- properties ----------------------------------------------------------------------------------

_number = st.integers(-10**6, 10**6).map(str) | st.floats(
    -1e4, 1e4, allow_nan=False).map(lambda x: f"{x:.2f}")
_good = st.tuples(st.integers(0, 10**7), _number, _number).map(lambda t: ",".join(map(str, t)))
_messy = st.sampled_from([
    "time_ms,left,right", "Reading: 1096,18290,20221", "HX711 not ready", "1084,1,2,",
    "1060,18262,202091072,18270,20212", "", "  ", ",", "1,2", "a,b,c", "1,,2", "1.2.3,4,5",
    "-,1,2", "1,2,3,4", "e,E,e", "1 2,3,4", "1_0,2,3", "inf,1,2", "1,2,nan", "1,\t2,3",
])
_stream = st.lists(st.tuples(_good | _messy, st.sampled_from(["\n", "\r", "\r\n"])),
                   max_size=40).map(lambda xs: "".join(a + b for a, b in xs).encode())
_cuts = st.lists(st.integers(0, 10**4), max_size=12)


def _same(a: tuple[FrameBlock | None, list[Notice]], b: tuple[FrameBlock | None, list[Notice]],
          ) -> None:
    (fa, na), (fb, nb) = a, b
    assert (fa is None) == (fb is None)
    if fa is not None and fb is not None:
        np.testing.assert_array_equal(fa.values, fb.values)
        np.testing.assert_array_equal(fa.device_time, fb.device_time)
        np.testing.assert_array_equal(fa.host_time, fb.host_time)
    assert [(n.kind, n.detail, n.data) for n in na] == [(n.kind, n.detail, n.data) for n in nb]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_stream, cuts=_cuts, opts=st.sampled_from([TIMED, TIMED + '\ndelimiter = ","', ""]))
def test_any_chunking_gives_the_same_frames_notices_and_counters(data: bytes, cuts: list[int],
                                                                 opts: str) -> None:
    one, many = decoder(opts), decoder(opts)
    _same(run(one, [data]), run(many, split(data, cuts)))
    assert one.counters == many.counters
    assert one.header_lines == many.header_lines  # type: ignore[attr-defined]


def _numbers_per_line(data: bytes) -> set[tuple[float, ...]]:
    """Every run of numbers an independent reading of the text could hold."""
    rows = set()
    for raw in data.replace(b"\r", b"\n").split(b"\n"):
        nums = []
        for f in raw.decode("latin-1").split(","):
            try:
                nums.append(float(f))
            except ValueError:
                nums.append(math.nan)
        rows.add(tuple(nums))
    return rows


def _blank(raw: bytes) -> bool:
    line = raw[:-1] if raw.endswith(b",") else raw
    return not line.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_stream, cuts=_cuts, edits=st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 10**4),
              st.integers(0, 255)), max_size=8))
def test_corruption_never_raises_and_every_line_is_accounted_for(
        data: bytes, cuts: list[int], edits: list[tuple[str, int, int]]) -> None:
    buf = bytearray(data)
    for op, pos, byte in edits:
        at = pos % (len(buf) + 1)
        if op == "insert":
            buf[at:at] = bytes([byte])
        elif buf and at < len(buf):
            if op == "flip":
                buf[at] ^= 1 << (byte % 8)
            else:
                del buf[at]
    data = bytes(buf)
    dec = decoder(TIMED + '\ndelimiter = ","\nprefix = ""')
    block, notices = run(dec, split(data, cuts))
    n = 0 if block is None else len(block)
    assert dec.counters.frames == n
    assert dec.counters.undecodable == len(notices)
    lines = [r for r in data.replace(b"\r", b"\n").split(b"\n") if not _blank(r)]
    assert n + dec.counters.undecodable + dec.header_lines == len(lines)  # type: ignore[attr-defined]
    if block is not None:  # nothing invented: each frame is the numbers of one line
        seen = _numbers_per_line(data)
        for t, row in zip(block.device_time, block.values, strict=True):
            assert any(len(s) >= 3 and s[0] * 1e-3 == t and s[1:3] == tuple(row) for s in seen)


_token = st.text("0123456789-.+eE ", min_size=1, max_size=7) | st.decimals(
    -10**6, 10**6, allow_nan=False, allow_infinity=False, places=3).map(str) | st.integers(
    -10**18, 10**18).map(str)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_token, min_size=3, max_size=3), min_size=1, max_size=4),
       delim=st.sampled_from([b",", b";", b"\t"]), crlf=st.booleans())
def test_bulk_parser_reads_exactly_what_float_reads(rows: list[list[str]], delim: bytes,
                                                   crlf: bool) -> None:
    end = b"\r\n" if crlf else b"\n"
    body = b"".join(delim.join(t.encode() for t in row) + end for row in rows)
    got = parse_block(body.replace(b"\r", b"\n"), delim, 3)
    want = [[number(t.encode()) for t in row] for row in rows]
    if any(v is None for row in want for v in row):
        assert got is None
    else:
        assert got is not None and got.tolist() == want
        assert not np.signbit(got[got == 0]).any()  # -0 is read as 0 everywhere


# -- the two ways a read is decoded: plain Python for a few lines, vectors for more ---------------


def test_a_cr_ending_a_read_pairs_only_with_a_lf_opening_the_next() -> None:
    block, notices = run(decoder(TIMED), [b"\n1,10,20\r", b"\n2,11,21\r", b"3,12,22\r", b"\n"])
    assert block is not None and block.values.tolist() == [[10, 20], [11, 21], [12, 22]]
    assert notices == []
    block, _ = run(decoder(TIMED), [b"\n1,10,20\r2,11,21", b"\n3,12,22\n"])  # no CRLF half
    assert block is not None and block.device_time.tolist() == [0.001, 0.002, 0.003]


def test_a_literal_prefix_made_of_digits_is_removed_in_long_reads_too() -> None:
    lines = b"".join(b"9%d,%d,%d\r\n" % (1000 + i, i, -i) for i in range(200))
    for chunks in ([b"\n" + lines], [b"\n", *lines.splitlines(keepends=True)]):
        block, notices = run(decoder(TIMED + '\nprefix = "9"'), chunks)
        assert block is not None and len(block) == 200 and notices == []
        assert block.device_time[0] == 1.0 and block.values[-1].tolist() == [199, -199]


def test_odd_lines_in_a_long_read_are_counted_and_the_others_kept() -> None:
    good = [b"%d,%d,%d" % (1000 + i, i, -i) for i in range(3000)]
    odd = [b"9000,1,29001,3,4", b"9002,1.2.3,4"]  # glued; a bad number
    lines = [b"", *good[:1000], odd[0], *good[1000:2000], odd[1], *good[2000:]]
    block, notices = run(decoder(TIMED), [b"\r\n".join(lines) + b"\r\n"])
    assert block is not None and block.values[:, 0].tolist() == list(range(3000))
    assert [n.data["line"] for n in notices] == [o.decode() for o in odd]
    _same((block, notices), run(decoder(TIMED), [ln + b"\r\n" for ln in lines]))


def _python_and_vector(opts: str) -> tuple[Decoder, Decoder]:
    python, vector = decoder(opts), decoder(opts)
    python.few_bytes = 10**9  # type: ignore[attr-defined]  # every read in plain Python
    vector.few_bytes = -1  # type: ignore[attr-defined]  # every read in bulk, halved if need be
    return python, vector


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_stream, cuts=_cuts, opts=st.sampled_from([TIMED, TIMED + '\ndelimiter = ","', ""]))
def test_few_lines_in_python_give_what_the_vector_path_gives(data: bytes, cuts: list[int],
                                                           opts: str) -> None:
    python, vector = _python_and_vector(opts)
    chunks = split(data, cuts)
    _same(run(python, chunks), run(vector, chunks))
    assert python.counters == vector.counters
    assert python.header_lines == vector.header_lines  # type: ignore[attr-defined]


_text_number = st.integers(-10**7, 10**7).map(str) | st.sampled_from(["-0", "-0.0", ".5", "-.5",
                                                                       "7.", "007"]) | st.tuples(
    st.floats(-1e5, 1e5, allow_nan=False), st.integers(0, 6)).map(lambda t: f"{t[0]:.{t[1]}f}")


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(_text_number, min_size=3, max_size=3), min_size=1, max_size=60),
       crlf=st.booleans())
def test_both_paths_give_bit_identical_numbers(rows: list[list[str]], crlf: bool) -> None:
    end = "\r\n" if crlf else "\n"
    data = ("\n" + "".join(",".join(r) + end for r in rows)).encode()
    python, vector = _python_and_vector(TIMED + '\ndelimiter = ","\nfirst_line = "keep"')
    a, _ = run(python, [ln + b"\n" for ln in data.split(b"\n")][:-1])  # a line per read
    b, _ = run(vector, [data])
    assert a is not None and b is not None
    for got in (a, b):  # exactly what float() reads, -0 as 0
        want = np.array([[float(v) + 0.0 for v in r] for r in rows])
        np.testing.assert_array_equal(got.values.view(np.int64), want[:, 1:].view(np.int64))
        np.testing.assert_array_equal(got.device_time.view(np.int64),
                                      (want[:, 0] * 1e-3).view(np.int64))
