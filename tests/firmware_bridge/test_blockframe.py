"""blockframe: round trips, the documented test vector, corruption, gaps, shapes, a real pty."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.errors import ProtocolError
from firmware_bridge.frames import FLAG_AFTER_GAP, FLAG_OUT_OF_RANGE, FrameBlock, Notice
from firmware_bridge.profiles import Profile, parse_profile
from firmware_bridge.protocols import make_decoder, read_size
from firmware_bridge.protocols._binary import SKIP_REPORT_BYTES
from firmware_bridge.protocols.blockframe import HEADER, SYNC, BlockframeDecoder, encode_frame
from tests.corruption import corrupt, corruption_ops
from tests.decoding import decode
from tests.ptydevice import PtyDevice

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
# The frame docs/protocol.md shows and the reference firmware's self-test must reproduce.
VECTOR_VALUES = np.array([1, -2, 8388607, -8388608], dtype=np.int32)
VECTOR_SEQ, VECTOR_TIME_US = 7, 123456789
VECTOR_HEX = ("c59a0101 04000400 00000000 10000000 07000000 15cd5b07 00000000"
              " 01000000 feffffff ffff7f00 000080ff e88456de").replace(" ", "")


def channels_profile(n: int = 4, dtype: str | None = None) -> Profile:
    opts = f'[options]\ndtype = "{dtype}"\n' if dtype else ""
    chans = "".join(f'[[channels]]\nname = "c{i}"\n' for i in range(n))
    return parse_profile(f'name = "t"\nprotocol = "blockframe"\n{opts}{chans}')


def matrix_profile(rows: int, cols: int, dtype: str = "uint16", lo: float = 0,
                   hi: float = 65535) -> Profile:
    return parse_profile(
        f'name = "m"\nprotocol = "blockframe"\n[matrix]\nrows = {rows}\ncols = {cols}\n'
        f'dtype = "{dtype}"\nraw_min = {lo!r}\nraw_max = {hi!r}\n')


def kinds(notices: list[Notice]) -> list[str]:
    return [n.kind for n in notices]


DTYPES = ["uint8", "uint16", "int16", "int32", "uint32", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (4,), (3, 5), (48, 48)])
def test_round_trip_every_dtype_and_shape(dtype: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        values = rng.normal(0, 1e4, (6, *shape)).astype(dt)
        lo, hi = -1e30, 1e30
    else:
        info = np.iinfo(dt)
        values = rng.integers(info.min, info.max, (6, *shape), dtype=dt, endpoint=True)
        lo, hi = info.min, info.max
    profile = (channels_profile(shape[0], dtype) if len(shape) == 1
               else matrix_profile(*shape, dtype=dtype, lo=lo, hi=hi))
    times = [0, 1, 12_500, 2**32 + 5, 2**40, 2**63 + 11]
    stream = b"".join(encode_frame(v, 10 + k, t) for k, (v, t) in enumerate(zip(values, times,
                                                                                strict=True)))
    frames, notices = decode(make_decoder(profile), [stream])
    assert frames is not None and notices == []
    assert frames.values.dtype == dt and frames.values.shape == (6, *shape)
    np.testing.assert_array_equal(frames.values, values)
    np.testing.assert_array_equal(frames.seq, np.arange(10, 16))
    np.testing.assert_allclose(frames.device_time, np.array(times, dtype=float) * 1e-6)
    assert not frames.flags.any()


def test_documented_vector_matches_encoder_and_doc() -> None:
    frame = encode_frame(VECTOR_VALUES, VECTOR_SEQ, VECTOR_TIME_US)
    assert frame.hex() == VECTOR_HEX
    assert len(frame) == HEADER.size + 16 + 4 and frame.startswith(SYNC)
    assert zlib.crc32(frame[:-4]) == int.from_bytes(frame[-4:], "little")
    doc_hex = re.sub(r"\s+", "", DOC.read_text("utf-8")).lower()
    assert VECTOR_HEX in doc_hex, "docs/protocol.md must show the test vector frame"


@pytest.mark.parametrize("profile, values", [
    (channels_profile(2), np.zeros(2, np.int32)),  # 40 bytes, as docs/protocol.md says
    (channels_profile(3, "float64"), np.zeros(3)),
    (matrix_profile(48, 48), np.zeros((48, 48), np.uint16)),  # 4640 bytes
])
def test_a_read_is_one_frame(profile: Profile, values: np.ndarray) -> None:
    assert read_size(profile) == len(encode_frame(values, 0, 0))


def test_encoder_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ProtocolError):
        encode_frame(np.zeros((2, 2, 2), np.int32), 0, 0)
    with pytest.raises(ProtocolError):
        encode_frame(np.zeros(3, np.complex64), 0, 0)
    with pytest.raises(ProtocolError):
        encode_frame(np.zeros(3, np.int32), 0, -1)
    assert encode_frame(np.zeros(1, np.int32), 2**32 + 3, 0)[16:20] == (3).to_bytes(4, "little")


def stream_of(n: int, shape: tuple[int, ...] = (4,), start_seq: int = 0) -> tuple[bytes,
                                                                                   np.ndarray]:
    values = (np.arange(n * int(np.prod(shape)), dtype=np.int32) * 37 - 500).reshape(n, *shape)
    frames = [encode_frame(v, start_seq + k, 12_500 * k) for k, v in enumerate(values)]
    return b"".join(frames), values


def test_crc_failure_is_counted_and_the_stream_resynchronises() -> None:
    stream, values = stream_of(5)
    size = len(stream) // 5
    bad = bytearray(stream)
    bad[2 * size + HEADER.size + 3] ^= 0x10  # a payload byte of frame 2
    dec = BlockframeDecoder(channels_profile())
    frames, notices = decode(dec, [bytes(bad)])
    assert frames is not None
    np.testing.assert_array_equal(frames.seq, [0, 1, 3, 4])
    np.testing.assert_array_equal(frames.values, values[[0, 1, 3, 4]])
    assert dec.counters.crc_errors == 1 and dec.counters.seq_gaps == 1
    assert dec.counters.undecodable == 1  # the bad frame's bytes, one run
    assert kinds(notices) == ["crc_error", "undecodable", "seq_gap"]
    assert notices[1].data == {"bytes": size}
    assert notices[2].data == {"expected": 2, "got": 3, "missing": 1}
    assert list(frames.flags) == [0, 0, FLAG_AFTER_GAP, 0]


def seq_stream(seqs: list[int]) -> bytes:
    return b"".join(encode_frame(np.array([s % 1000], np.int32), s, 0) for s in seqs)


def test_sequence_gap_and_restart() -> None:
    seqs = [0, 1, 5, 6, 1, 2, 2, 3]
    dec = BlockframeDecoder(channels_profile(1))
    frames, notices = decode(dec, [seq_stream(seqs)])
    assert frames is not None and frames.seq.tolist() == seqs  # every frame kept
    assert [n.data for n in notices if n.kind == "seq_gap"] == [
        {"expected": 2, "got": 5, "missing": 3},
        {"expected": 7, "got": 1, "missing": 0},  # went back: a restart, nothing missing
        {"expected": 3, "got": 2, "missing": 0},  # a repeat
    ]
    assert dec.counters.seq_gaps == 3
    assert [bool(f & FLAG_AFTER_GAP) for f in frames.flags] == [
        False, False, True, False, True, False, True, False]


def test_sequence_number_wraps_without_a_gap() -> None:
    dec = BlockframeDecoder(channels_profile(1))
    frames, notices = decode(dec, [seq_stream([2**32 - 2, 2**32 - 1, 0, 1])])
    assert frames is not None and frames.seq.tolist() == [2**32 - 2, 2**32 - 1, 0, 1]
    assert notices == [] and dec.counters.seq_gaps == 0 and not frames.flags.any()


def test_frames_of_another_shape_or_dtype_are_counted_not_reshaped() -> None:
    four = np.array([1, 2, 3, 4], np.int32)
    stream = (encode_frame(four, 0, 0)
              + encode_frame(four[:3], 1, 0) + encode_frame(four[:3], 2, 0)
              + encode_frame(four.reshape(2, 2), 3, 0)
              + encode_frame(four.astype(np.int16), 4, 0)
              + encode_frame(four, 5, 0))
    dec = BlockframeDecoder(channels_profile(4))
    frames, notices = decode(dec, [stream])
    assert frames is not None and frames.seq.tolist() == [0, 5]
    np.testing.assert_array_equal(frames.values, [four, four])
    assert dec.counters.wrong_size == 4 and dec.counters.seq_gaps == 0
    sizes = [n.data for n in notices if n.kind == "wrong_size"]
    # one notice per run of alike frames
    assert [(d["shape"], d["dtype"]) for d in sizes] == [([3], "int32"), ([2, 2], "int32"),
                                                         ([4], "int16")]
    assert sizes[0]["expected_shape"] == [4] and sizes[0]["expected_dtype"] == "int32"
    assert kinds(notices) == ["wrong_size"] * 3


def test_out_of_range_values_are_kept_and_flagged() -> None:
    values = np.zeros((5, 2, 3), np.uint16)
    values[1, 0, 0] = 5000
    values[2, 1, 2] = 4096
    values[4, 0, 1] = 65535
    stream = b"".join(encode_frame(v, k, 0) for k, v in enumerate(values))
    dec = BlockframeDecoder(matrix_profile(2, 3, hi=4095))
    frames, notices = decode(dec, [stream])
    assert frames is not None
    np.testing.assert_array_equal(frames.values, values)  # never clipped
    assert [bool(f & FLAG_OUT_OF_RANGE) for f in frames.flags] == [False, True, True, False, True]
    assert dec.counters.out_of_range == 3
    assert [n.data for n in notices if n.kind == "out_of_range"] == [
        {"seq": 1, "values": 1}, {"seq": 4, "values": 1}]


def test_resync_after_garbage_reports_one_run() -> None:
    stream, values = stream_of(3)
    garbage = b"\x00\xc5\x9a\x01hello" + SYNC + b"\xc5" * 40 + bytes(range(256))
    dec = BlockframeDecoder(channels_profile())
    frames, notices = decode(dec, [garbage + stream[:100], stream[100:] + garbage])
    assert frames is not None
    np.testing.assert_array_equal(frames.values, values)
    assert dec.counters.undecodable == 2
    assert [n.data for n in notices] == [{"bytes": len(garbage)}, {"bytes": len(garbage)}]


def test_a_header_claiming_a_huge_payload_is_not_waited_for() -> None:
    stream, values = stream_of(2)
    liar = HEADER.pack(SYNC, 1, 2, 2, 0, 4000, 4000, 0, 4000 * 4000 * 2, 9, 0)
    dec = BlockframeDecoder(channels_profile())
    out = dec.feed(liar + stream, 0.0)  # no flush: the frames must come out at once
    assert out.frames is not None and len(out.frames) == 2
    np.testing.assert_array_equal(out.frames.values, values)
    assert [n.kind for n in out.notices] == ["undecodable"]


def test_truncated_stream_is_reported_at_flush() -> None:
    stream, _ = stream_of(3)
    dec = BlockframeDecoder(channels_profile())
    out = dec.feed(stream[:-7], 0.0)
    assert out.frames is not None and len(out.frames) == 2 and out.notices == []
    end = dec.flush(1.0)
    assert end.frames is None and [n.data for n in end.notices] == [{"bytes": len(stream) // 3 - 7}]


def test_endless_noise_is_reported_in_pieces() -> None:
    dec = BlockframeDecoder(channels_profile())
    out = dec.feed(bytes(2 * SKIP_REPORT_BYTES + 5), 0.0)
    assert dec.counters.undecodable == 2 and len(out.notices) == 2
    dec.flush(1.0)
    assert dec.counters.undecodable == 3


def test_unknown_profile_dtype_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="complex64"):
        BlockframeDecoder(channels_profile(2, "complex64"))


# --- properties ------------------------------------------------------------------------------

def frame_set(n: int, matrix: bool) -> tuple[Profile, list[bytes], np.ndarray]:
    shape = (3, 4) if matrix else (3,)
    rng = np.random.default_rng(n)
    values = rng.integers(0, 5000, (n, *shape)).astype(np.uint16 if matrix else np.int32)
    frames = [encode_frame(v, k, 1000 * k) for k, v in enumerate(values)]
    profile = matrix_profile(3, 4, hi=4095) if matrix else channels_profile(3)
    return profile, frames, values


def summary(frames: FrameBlock | None, notices: list[Notice], dec: BlockframeDecoder) -> tuple:
    if frames is None:
        return (None, [(n.kind, n.data) for n in notices], dec.counters.as_dict())
    return (frames.values.tolist(), frames.seq.tolist(), frames.device_time.tolist(),
            frames.flags.tolist(), [(n.kind, n.data) for n in notices], dec.counters.as_dict())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 8), matrix=st.booleans(), drop=st.integers(-1, 7),
       cuts=st.lists(st.integers(0, 2000), max_size=12), junk=st.binary(max_size=40))
def test_any_chunking_gives_identical_frames_and_counters(n: int, matrix: bool, drop: int,
                                                          cuts: list[int], junk: bytes) -> None:
    profile, frames, _ = frame_set(n, matrix)
    if 0 <= drop < n - 1:
        frames = frames[:drop] + frames[drop + 1:]  # a sequence gap
    stream = junk + b"".join(frames) + junk
    dec1 = BlockframeDecoder(profile)
    whole = summary(*decode(dec1, [stream]), dec1)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    dec2 = BlockframeDecoder(profile)
    assert summary(*decode(dec2, chunks), dec2) == whole


corruption = corruption_ops(max_delete=60)


def intact(frames: list[bytes], origin: list[int], flipped: set[int]) -> list[int]:
    """Indexes of the frames whose bytes all survive, unchanged and contiguous."""
    where = {o: j for j, o in enumerate(origin) if o >= 0}
    found, start = [], 0
    for k, frame in enumerate(frames):
        span = range(start, start + len(frame))
        start += len(frame)
        j = where.get(span[0])
        if (j is not None and origin[j:j + len(span)] == list(span)
                and not flipped.intersection(span)):
            found.append(k)
    return found


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 8), matrix=st.booleans(), ops=st.lists(corruption, min_size=1,
                                                                 max_size=4),
       chunk=st.integers(1, 300))
def test_corruption_only_counts_and_every_intact_frame_survives(
        n: int, matrix: bool, ops: list[tuple[str, float, bytes, int]], chunk: int) -> None:
    profile, frames, values = frame_set(n, matrix)
    data, origin, flipped = corrupt(b"".join(frames), ops)
    dec = BlockframeDecoder(profile)
    got, notices = decode(dec, [data[i:i + chunk] for i in range(0, len(data), chunk)])
    got_seqs = [] if got is None else got.seq.tolist()
    assert set(intact(frames, origin, flipped)) <= set(got_seqs)
    assert set(got_seqs) <= set(range(n))
    if got is not None:
        np.testing.assert_array_equal(got.values, values[got_seqs])  # nothing invented
    assert dec.counters.frames == len(got_seqs)
    assert all(n.kind in ("undecodable", "crc_error", "seq_gap", "out_of_range", "wrong_size")
               for n in notices)


# --- a real pseudo-terminal ------------------------------------------------------------------

def test_frames_through_a_real_pty_read_by_pyserial() -> None:
    values = (np.arange(40 * 48 * 48, dtype=np.uint32) % 4096).astype(np.uint16)
    values = values.reshape(40, 48, 48)
    payload = b"".join(encode_frame(v, k, 10_000 * k) for k, v in enumerate(values))
    dec = BlockframeDecoder(matrix_profile(48, 48, hi=4095))
    blocks: list[FrameBlock] = []
    with PtyDevice() as dev:
        port = serial.serial_for_url(dev.path, timeout=0.05)
        try:
            dev.play([payload[i:i + 997] for i in range(0, len(payload), 997)])
            deadline = time.monotonic() + 10
            while sum(map(len, blocks)) < len(values) and time.monotonic() < deadline:
                data = port.read(8192)
                if data:
                    out = dec.feed(data, time.monotonic())
                    assert out.notices == []
                    if out.frames is not None:
                        blocks.append(out.frames)
        finally:
            port.close()
    got = FrameBlock.concat(blocks)
    np.testing.assert_array_equal(got.values, values)
    np.testing.assert_array_equal(got.seq, np.arange(40))
    assert dec.counters.bytes == len(payload) and dec.counters.frames == 40


# --- the reference firmware, compiled for this host ------------------------------------------

FIRMWARE = (Path(__file__).resolve().parents[2] / "firmware_bridge" / "firmware"
            / "sotlog_loadcells" / "sotlog_loadcells.ino")
ARDUINO_STANDIN = r"""
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#define HIGH 1
#define LOW 0
#define INPUT 0
#define OUTPUT 1
static uint32_t fake_micros = 0;
inline uint32_t micros() { return fake_micros; }
inline int digitalRead(uint8_t) { return LOW; }
inline void digitalWrite(uint8_t, int) {}
inline void pinMode(uint8_t, int) {}
inline void delayMicroseconds(unsigned) {}
inline void noInterrupts() {}
inline void interrupts() {}
struct SerialT {
  void begin(long) {}
  size_t write(const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
    return n;
  }
};
static SerialT Serial;
"""
FIRMWARE_MAIN = r"""
#include "Arduino.h"
#include "sketch.cpp"
int main() {
  const int32_t vector[4] = {1, -2, 8388607, -8388608};
  Serial.write(frameBuf, buildFrame(vector, 4, 7, 123456789UL, 0));
  fake_micros = 0xFFFFFFF0u;
  loop();
  fake_micros = 0x10u;  // micros() wrapped
  loop();
  return 0;
}
"""


def test_reference_firmware_builds_the_same_frames(tmp_path: Path) -> None:
    """The sketch's frame and CRC code, built with the host C++ compiler, matches encode_frame."""
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler on this machine")
    (tmp_path / "Arduino.h").write_text(ARDUINO_STANDIN)
    (tmp_path / "sketch.cpp").write_text(FIRMWARE.read_text("utf-8"))
    (tmp_path / "main.cpp").write_text(FIRMWARE_MAIN)
    exe = tmp_path / "fw"
    subprocess.run([cxx, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path),
                    "-o", str(exe), str(tmp_path / "main.cpp")], check=True, timeout=120)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True,
                           timeout=10).stdout.split()
    zeros = np.zeros(2, np.int32)  # the stand-in HX711s read 0
    assert lines == [VECTOR_HEX, encode_frame(zeros, 0, 0xFFFFFFF0).hex(),
                     encode_frame(zeros, 1, (1 << 32) | 0x10).hex()]
