"""m1616: round trips, resync on the header, short frames, range flags, chunking, a real pty."""

from __future__ import annotations

import time

import numpy as np
import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import ProtocolError
from firmware_bridge.frames import FLAG_OUT_OF_RANGE, FrameBlock, Notice
from firmware_bridge.profiles import Profile, parse_profile
from firmware_bridge.protocols import make_decoder, read_size
from firmware_bridge.protocols.m1616 import FRAME_SIZE, M1616Decoder, encode_m1616
from tests.corruption import corrupt, corruption_ops
from tests.decoding import decode
from tests.ptydevice import PtyDevice


def profile(raw_max: int = 4095, rows: int = 16) -> Profile:
    return parse_profile(
        f'name = "m"\nprotocol = "m1616"\n[matrix]\nrows = {rows}\ncols = 16\n'
        f'dtype = "uint16"\nraw_min = 0\nraw_max = {raw_max}\n')


def mats(n: int, seed: int = 0) -> np.ndarray:
    values = np.random.default_rng(seed).integers(0, 4096, (n, 16, 16)).astype(np.uint16)
    values[:, 0, 0] = np.arange(n)  # tells frames apart
    return values


# Trailer bytes that never form or begin a header, so frames are told apart only by headers.
PLAIN_TRAILERS = [b"\x01\x02\x03\x04", b"\xff\x00\x10\x7f", b"\x00\x00\x00\x00"]


def stream(values: np.ndarray, trailers: list[bytes] = PLAIN_TRAILERS) -> list[bytes]:
    return [encode_m1616(v, trailers[k % len(trailers)]) for k, v in enumerate(values)]


def test_round_trip_keeps_values_order_and_trailer() -> None:
    values = mats(5)
    values[3, 15, 15] = 65535
    dec = make_decoder(profile(raw_max=65535))
    assert isinstance(dec, M1616Decoder)
    frames, notices = decode(dec, [b"".join(stream(values))])
    assert frames is not None and notices == []
    assert frames.values.dtype == np.uint16 and frames.values.dtype.isnative
    np.testing.assert_array_equal(frames.values, values)
    assert frames.seq.tolist() == [-1] * 5 and np.isnan(frames.device_time).all()
    assert dec.last_trailer == PLAIN_TRAILERS[4 % 3]
    assert dec.counters.frames == 5 and dec.counters.bytes == 5 * FRAME_SIZE


def test_wire_layout_is_header_big_endian_values_trailer() -> None:
    values = np.zeros((16, 16), np.uint16)
    values[0, 0], values[0, 1], values[15, 15] = 0x0102, 0xA0B0, 7
    frame = encode_m1616(values, b"\x09\x08\x07\x06")
    assert len(frame) == 519 and frame[:3] == b"\xaa\xab\xac"
    assert frame[3:7] == b"\x01\x02\xa0\xb0" and frame[513:515] == b"\x00\x07"
    assert frame[-4:] == b"\x09\x08\x07\x06"


def test_a_read_is_one_frame() -> None:
    assert read_size(profile()) == FRAME_SIZE == len(encode_m1616(np.zeros((16, 16))))


def test_encoder_and_decoder_refuse_wrong_geometry() -> None:
    with pytest.raises(ProtocolError):
        encode_m1616(np.zeros((16, 15), np.uint16))
    with pytest.raises(ProtocolError):
        encode_m1616(np.full((16, 16), 70000))
    with pytest.raises(ProtocolError):
        encode_m1616(np.zeros((16, 16), np.uint16), b"\x00")
    with pytest.raises(ProtocolError, match="16x16"):
        M1616Decoder(profile(rows=10))


def test_resync_after_garbage_one_notice_per_run() -> None:
    values = mats(4)
    frames_bytes = stream(values)
    junk = b"\xaa\xab" + bytes(range(200)) + b"\xaa"
    data = junk + frames_bytes[0] + frames_bytes[1] + junk + frames_bytes[2] + frames_bytes[3]
    dec = M1616Decoder(profile())
    frames, notices = decode(dec, [data[i:i + 64] for i in range(0, len(data), 64)])
    assert frames is not None
    np.testing.assert_array_equal(frames.values, values)
    assert dec.counters.undecodable == 2
    assert [(n.kind, n.data) for n in notices] == [("undecodable", {"bytes": len(junk)})] * 2


@pytest.mark.parametrize("lost", [1, 2, 3, 100, 515])
def test_a_short_frame_never_swallows_the_next(lost: int) -> None:
    values = mats(3)
    parts = stream(values)
    parts[1] = parts[1][:-lost]  # bytes lost at the end of frame 1
    dec = M1616Decoder(profile())
    frames, notices = decode(dec, [b"".join(parts)])
    assert frames is not None
    np.testing.assert_array_equal(frames.values, values[[0, 2]])
    assert [n.data for n in notices] == [{"bytes": FRAME_SIZE - lost}]


def test_a_trailer_that_looks_like_a_header_start_waits_for_more_bytes() -> None:
    values = mats(2)
    first = encode_m1616(values[0], b"\x00\x00\xaa\xab")
    dec = M1616Decoder(profile())
    out = dec.feed(first, 0.0)
    assert out.frames is None  # the next header might start two bytes back
    out = dec.feed(encode_m1616(values[1], b"\x00\x00\x00\xaa")[:2], 1.0)
    assert out.frames is not None and len(out.frames) == 1
    np.testing.assert_array_equal(out.frames.values[0], values[0])
    assert dec.last_trailer == b"\x00\x00\xaa\xab"
    end = dec.flush(2.0)
    assert end.frames is None and [n.data for n in end.notices] == [{"bytes": 2}]


def test_out_of_range_values_are_kept_and_flagged() -> None:
    values = mats(4)
    values[1, 3, 3] = 5000
    values[2, 0, 5] = 4096
    dec = M1616Decoder(profile(raw_max=4095))
    frames, notices = decode(dec, [b"".join(stream(values))])
    assert frames is not None
    np.testing.assert_array_equal(frames.values, values)
    assert [bool(f & FLAG_OUT_OF_RANGE) for f in frames.flags] == [False, True, True, False]
    assert dec.counters.out_of_range == 2
    assert [(n.kind, n.data["values"]) for n in notices] == [("out_of_range", 1)]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5), cuts=st.lists(st.integers(0, 3000), max_size=10),
       junk=st.binary(max_size=30), trailer=st.binary(min_size=4, max_size=4))
def test_any_chunking_gives_identical_frames_and_counters(n: int, cuts: list[int], junk: bytes,
                                                          trailer: bytes) -> None:
    data = junk + b"".join(stream(mats(n, seed=n), [trailer])) + junk
    whole = M1616Decoder(profile())
    ref_frames, ref_notices = decode(whole, [data])
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    split = M1616Decoder(profile())
    frames, notices = decode(split, chunks)
    assert whole.counters == split.counters
    assert [(x.kind, x.data) for x in notices] == [(x.kind, x.data) for x in ref_notices]
    if ref_frames is None:
        assert frames is None
    else:
        assert frames is not None
        np.testing.assert_array_equal(frames.values, ref_frames.values)
        np.testing.assert_array_equal(frames.flags, ref_frames.flags)


corruption = corruption_ops(max_delete=600)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 5), ops=st.lists(corruption, min_size=1, max_size=3),
       chunk=st.integers(1, 1200))
def test_corruption_only_counts_and_every_intact_frame_survives(
        n: int, ops: list[tuple[str, float, bytes, int]], chunk: int) -> None:
    values = mats(n, seed=n)
    data, origin, flipped = corrupt(b"".join(stream(values)), ops)
    where = {o: j for j, o in enumerate(origin) if o >= 0}
    intact = []
    for k in range(n):
        span = list(range(k * FRAME_SIZE, (k + 1) * FRAME_SIZE))
        j = where.get(span[0])
        if j is not None and origin[j:j + FRAME_SIZE] == span and not flipped.intersection(span):
            intact.append(k)
    dec = M1616Decoder(profile())
    frames, notices = decode(dec, [data[i:i + chunk] for i in range(0, len(data), chunk)])
    got = [] if frames is None else list(frames.values)
    # Every intact frame comes out, in order (no checksum: a flipped value byte passes through).
    it = iter(got)
    for k in intact:
        assert any(np.array_equal(g, values[k]) for g in it), f"intact frame {k} lost"
    assert dec.counters.frames == len(got)
    assert all(x.kind in ("undecodable", "out_of_range") for x in notices)
    if len(data) and len(got) * FRAME_SIZE < len(data):
        assert dec.counters.undecodable >= 1  # whatever was not a frame was reported


def test_frames_through_a_real_pty_read_by_pyserial() -> None:
    values = mats(30)
    data = b"\x00\x13" + b"".join(stream(values))  # a line-noise byte pair before the first
    dec = M1616Decoder(profile())
    blocks: list[FrameBlock] = []
    notices: list[Notice] = []
    with PtyDevice() as dev:
        port = serial.serial_for_url(dev.path, timeout=0.05)
        try:
            dev.play([data[i:i + 311] for i in range(0, len(data), 311)])
            deadline = time.monotonic() + 10
            while sum(map(len, blocks)) < len(values) and time.monotonic() < deadline:
                chunk = port.read(4096)
                if chunk:
                    out = dec.feed(chunk, time.monotonic())
                    notices += out.notices
                    if out.frames is not None:
                        blocks.append(out.frames)
        finally:
            port.close()
    got = FrameBlock.concat(blocks)
    np.testing.assert_array_equal(got.values, values)
    assert [n.data for n in notices] == [{"bytes": 2}] and dec.counters.undecodable == 1
