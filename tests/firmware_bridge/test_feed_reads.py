"""``Decoder.feed_reads``: many reads at once give what feeding them one by one gives, every
frame stamped with the time of the read its last byte came in, notices and counters alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import parse_profile
from firmware_bridge.protocols import Decoder, make_decoder
from firmware_bridge.protocols._text import count_lf, one_line_end
from firmware_bridge.protocols._textdecoder import line_ends, one_line_each
from tests.firmware_bridge.test_accounting import PROFILES, STREAMS, profile_named

FOUR = parse_profile("""name = "four"\nprotocol = "lines"\n[options]\ntime_column = 0
[[channels]]\nname = "a"\n[[channels]]\nname = "b"\n[[channels]]\nname = "c"
[[channels]]\nname = "d"\n""", "four.toml")


def messy_log(n: int) -> bytes:
    """4-cell CRLF lines with a partial first line, a header, garbage, blanks, lone CR and LF."""
    rng = np.random.default_rng(n)
    lines = [f"{1000 + 12 * i},{a},{b},{c},{d}\r\n"
             for i, (a, b, c, d) in enumerate(rng.integers(-99999, 99999, (n, 4)).tolist())]
    odd = ["not ready\r\n", "\r\n", "\n", "1,2\r\n", "millis,a,b,c,d\r\n", "7,1,2,3,4\r",
           "8,1,2,3,4\n", "1.5e3,1,2,3,4\r\n", "\r", ", \r\n"]
    for _ in range(n // 25):
        lines.insert(int(rng.integers(2, len(lines))), odd[int(rng.integers(len(odd)))])
    return ("00,9,9,9,9\r\nmillis,a,b,c,d\r\n" + "".join(lines)).encode()[2:]


def one_by_one(dec: Decoder, data: bytes, starts: np.ndarray,
               times: np.ndarray) -> tuple[list[FrameBlock], list[Notice]]:
    frames, notices = [], []
    ends = [*starts[1:].tolist(), len(data)]
    for a, b, t in zip(starts.tolist(), ends, times.tolist(), strict=True):
        out = dec.feed(data[a:b], t)
        frames += [out.frames] if out.frames is not None else []
        notices += out.notices
    return frames, notices


def in_groups(dec: Decoder, data: bytes, starts: np.ndarray, times: np.ndarray,
              groups: list[int]) -> tuple[list[FrameBlock], list[Notice]]:
    frames, notices = [], []
    edges = sorted({g % (len(starts) + 1) for g in groups} | {0, len(starts)})
    for i, j in zip(edges, edges[1:], strict=False):
        end = int(starts[j]) if j < len(starts) else len(data)
        out = dec.feed_reads(data[starts[i]:end], starts[i:j] - starts[i], times[i:j])
        frames += [out.frames] if out.frames is not None else []
        notices += out.notices
    return frames, notices


def same(profile_name: str, data: bytes, cuts: list[int], groups: list[int]) -> None:
    profile = FOUR if profile_name == "four" else profile_named(profile_name)
    starts = np.array(sorted({c % max(1, len(data)) for c in cuts} | {0}), np.int64)
    times = 100.0 + np.arange(len(starts)) * 0.5
    a, b = make_decoder(profile), make_decoder(profile)
    fa, na = one_by_one(a, data, starts, times)
    fb, nb = in_groups(b, data, starts, times, groups)
    end_a, end_b = a.flush(times[-1], cut=True), b.flush(times[-1], cut=True)
    if fa or fb:
        ja, jb = FrameBlock.concat(fa), FrameBlock.concat(fb)
        for column in ("values", "host_time", "device_time", "seq", "flags"):
            np.testing.assert_array_equal(getattr(ja, column), getattr(jb, column),
                                          err_msg=column)
    assert [(n.host_time, n.kind, n.detail, n.data) for n in na + end_a.notices] == \
        [(n.host_time, n.kind, n.detail, n.data) for n in nb + end_b.notices]
    assert a.counters == b.counters


@pytest.mark.parametrize("every", [1, 7, 40, 333])
def test_a_messy_log_read_every_few_bytes_and_decoded_in_blocks(every: int) -> None:
    data = messy_log(4000)
    rng = np.random.default_rng(every)
    same("four", data, list(range(0, len(data), every)),
         rng.integers(0, len(data) // every, 12).tolist())


def test_one_line_per_read_as_an_import_cuts_a_file() -> None:
    data = messy_log(3000)
    pieces = data.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(p) for p in pieces[:-1]]).tolist()
    same("four", data, starts, [len(pieces) // 3, len(pieces) // 2 + 5])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.sampled_from(sorted(STREAMS)), profile_name=st.sampled_from(PROFILES),
       cuts=st.lists(st.integers(0, 10**6), max_size=40), groups=st.lists(
           st.integers(0, 60), max_size=6), start=st.integers(0, 5000))
def test_any_reads_in_any_groups(stream: str, profile_name: str, cuts: list[int],
                                 groups: list[int], start: int) -> None:
    same(profile_name, STREAMS[stream][start:], cuts, groups)


def test_an_overlong_line_goes_read_by_read() -> None:
    """A line past MAX_LINE is cut where it grew too long: those reads go one by one."""
    data = messy_log(200) + b"7" * (1_200_000) + b"\r\n" + messy_log(300)[40:]
    same("four", data, list(range(0, len(data), 65536)) + [len(data) - 999], [3, 9, 17])


@pytest.mark.parametrize("end", [b"\r\n", b"\n"], ids=["CRLF", "LF"])
def test_a_clean_log_a_line_per_read(end: bytes) -> None:
    """An import's reads of a clean log: a line each, which ``line_times`` sees from counts."""
    rng = np.random.default_rng(len(end))
    pieces = [b"millis,a,b,c,d" + end] + [
        f"{1000 + 12 * i},{a},{b},{c},{d}".encode() + end
        for i, (a, b, c, d) in enumerate(rng.integers(-99999, 99999, (3000, 4)).tolist())]
    data = b"".join(pieces)
    starts = np.cumsum([0] + [len(p) for p in pieces[:-1]])
    assert one_line_each(data, starts, np.append(starts[1:], len(data)))
    same("four", data, starts.tolist(), [700, 1900, 1901])


LINE_BYTES = st.lists(st.sampled_from([b"1", b"-2", b",", b"\r", b"\n", b"\r\n", b"x"]),
                      max_size=60).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(data=LINE_BYTES, cuts=st.lists(st.integers(0, 200), max_size=20))
def test_a_line_each_only_when_each_read_holds_one_line_end(data: bytes, cuts: list[int]) -> None:
    """``one_line_each`` never says yes where the line ends found one by one disagree."""
    starts = np.array(sorted({c % max(1, len(data)) for c in cuts} | {0}), np.int64)
    ends = np.append(starts[1:], len(data))
    if one_line_each(data, starts, ends):
        pos = line_ends(data)
        assert len(pos) == len(starts)
        assert np.searchsorted(starts, pos, side="right").tolist() == list(
            range(1, len(starts) + 1))
        assert all(data[e - 1:e] == b"\n" for e in ends.tolist())


@settings(max_examples=300, deadline=None)
@given(data=LINE_BYTES)
def test_line_ends_made_one_lf_and_counted_in_vectors(data: bytes) -> None:
    """The vector paths of ``one_line_end`` and ``count_lf`` (long bodies) give what the bytes
    methods give."""
    long = data * (300 // max(1, len(data)) + 1) if data else b""
    want = long.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    assert one_line_end(long) == want
    assert count_lf(long * 20) == (long * 20).count(b"\n")
