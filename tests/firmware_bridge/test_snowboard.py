"""The Kitronyx Snowboard: one poll byte out, one line of 160 values back, over a real pty."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FLAG_OUT_OF_RANGE, FrameBlock
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.protocols import Decoder, make_decoder, read_size
from tests.firmware_bridge.test_lines import _same, run, split
from tests.ptydevice import PtyDevice


def answer(frame: np.ndarray) -> bytes:
    """The board's reply as its sketch prints it: 159 values and commas, the last, CRLF."""
    return (",".join(str(int(v)) for v in frame.ravel()) + "\r\n").encode()


def snowboard(options: str = "") -> Decoder:
    return make_decoder(parse_profile(
        f'name = "s"\nprotocol = "snowboard"\n[options]\n{options}\n'
        "[matrix]\nrows = 16\ncols = 10\nraw_min = 0\nraw_max = 255\n"))


def test_poll_and_start_requests_are_the_poll_byte() -> None:
    dec = make_decoder(load_profile("kitronyx-snowboard"))
    assert dec.poll_request() == b"A" and dec.start_request() == b"A"
    assert snowboard('poll_byte = "r"').poll_request() == b"r"
    assert read_size(dec.profile) is None  # an answer is a line


@pytest.mark.parametrize("options", ['poll_byte = "AB"', "poll_byte = 65", 'header = "yes"',
                                     'time_column = 0', 'delimiter = "tab"'])
def test_bad_options(options: str) -> None:
    with pytest.raises(ProfileError):
        snowboard(options)


def test_polled_over_a_pseudo_terminal() -> None:
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (25, 16, 10))
    dec = snowboard()
    stop = threading.Event()
    with PtyDevice() as dev:

        def board() -> None:  # answers each byte it is sent with the next frame
            sent = 0
            while not stop.is_set() and sent < len(frames):
                for _ in dev.read_available(0.05):
                    if sent < len(frames):
                        reply = answer(frames[sent])
                        dev.write(reply[:37])  # the reply comes in pieces, as over USB
                        dev.write(reply[37:])
                        sent += 1

        player = threading.Thread(target=board, daemon=True)
        player.start()
        port = serial.serial_for_url(dev.path, timeout=0.05)
        try:
            got: list[FrameBlock] = []
            deadline = time.monotonic() + 10
            port.write(dec.start_request() or b"")
            while sum(map(len, got)) < len(frames) and time.monotonic() < deadline:
                data = port.read(max(1, port.in_waiting))
                if not data:
                    continue
                out = dec.feed(data, time.monotonic())
                if out.frames is not None:
                    got.append(out.frames)
                    for _ in range(len(out.frames)):
                        port.write(dec.poll_request())
        finally:
            stop.set()
            player.join(timeout=5)
            port.close()
        block = FrameBlock.concat(got)
        assert block.values.shape == (25, 16, 10)
        np.testing.assert_array_equal(block.values, frames)
        assert dev.received.count(b"A") == len(dev.received) >= 25
        assert dec.counters.frames == 25 and dec.counters.undecodable == 0


def test_first_answer_is_kept_and_short_answers_are_wrong_size() -> None:
    dec = snowboard()
    full = answer(np.arange(160) % 256)
    block, notices = run(dec, [full, b"1,2,3\r\n", full])
    assert block is not None and len(block) == 2
    assert block.values[0, 1].tolist() == list(range(10, 20))
    assert dec.counters.wrong_size == 1 and notices[0].kind == "wrong_size"


def test_out_of_range_value_is_flagged() -> None:
    dec = snowboard()
    frame = np.zeros(160, int)
    frame[5] = 999
    block, _ = run(dec, [answer(frame)])
    assert block is not None and block.flags.tolist() == [FLAG_OUT_OF_RANGE]
    assert block.values[0, 0, 5] == 999 and dec.counters.out_of_range == 1


_answer = st.lists(st.integers(0, 255), min_size=160, max_size=160).map(
    lambda v: answer(np.array(v)))
_junk = st.sampled_from([b"1,2,3\r\n", b"\r\n", b"Snowboard ready\r\n", b"255,"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_answer | _junk, max_size=12), cuts=st.lists(st.integers(0, 10**4),
                                                                    max_size=10))
def test_any_chunking_gives_the_same_frames(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    one, many = snowboard(), snowboard()
    (fa, na), (fb, nb) = run(one, [data]), run(many, split(data, cuts))
    _same((fa, [n for n in na if n.kind != "out_of_range"]),
          (fb, [n for n in nb if n.kind != "out_of_range"]))
    assert one.counters == many.counters


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_answer, min_size=1, max_size=6), flips=st.lists(
    st.tuples(st.integers(0, 10**5), st.integers(0, 7)), max_size=6))
def test_corruption_only_counts(parts: list[bytes], flips: list[tuple[int, int]]) -> None:
    buf = bytearray(b"".join(parts))
    for pos, bit in flips:
        buf[pos % len(buf)] ^= 1 << bit
    dec = snowboard()
    block, _ = run(dec, split(bytes(buf), [97, 1000, 2048]))
    n = 0 if block is None else len(block)
    c = dec.counters
    lines = [r for r in bytes(buf).replace(b"\r", b"\n").split(b"\n")
             if (r[:-1] if r.endswith(b",") else r).strip()]
    assert c.frames == n and n + c.undecodable + c.wrong_size == len(lines)
