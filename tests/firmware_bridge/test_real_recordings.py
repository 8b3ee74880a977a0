"""Real recordings (fixtures/real) replayed through a pseudo-terminal, read back with pyserial.

Each file is played in arbitrary chunk sizes by a thread on the pty's device side; sotlog's
decoder reads the other side exactly as it would read /dev/ttyUSB0. The frames must equal what
Python's csv module reads from the same file.
"""

from __future__ import annotations

import csv
import io
import random
import time
from pathlib import Path

import numpy as np
import pytest
import serial

from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import parse_profile
from firmware_bridge.protocols import Decoder, make_decoder
from tests.ptydevice import PtyDevice

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"

HX711 = """
name = "hx711-replay"
protocol = "lines"
[options]
header = "auto"
time_column = 0
time_unit = "ms"
[[channels]]
name = "load"
column = 1
unit = "g"
"""

FORCEPLATE = """
name = "forceplate-replay"
protocol = "lines"
[options]
time_column = "time (s)"
time_unit = "s"
[[channels]]
name = "dominant"
column = "dominant Fvert (N)"
unit = "N"
[[channels]]
name = "non-dominant"
column = "non-dominant Fvert (N)"
unit = "N"
"""

KITRONYX = """
name = "kitronyx-replay"
protocol = "matrix_lines"
[options]
header = "yes"
time_column = "Measurement Time (sec)"
time_unit = "s"
[matrix]
rows = 48
cols = 48
raw_min = 0
raw_max = 255
"""


def chunked(data: bytes, seed: int, largest: int) -> list[bytes]:
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(data):
        n = rng.randint(1, largest)
        out.append(data[at:at + n])
        at += n
    return out


def replay(path: Path, dec: Decoder, seed: int, largest: int) -> tuple[FrameBlock, list[Notice]]:
    """Play ``path`` on a pty in random chunks; read it with pyserial into ``dec``."""
    blocks: list[FrameBlock] = []
    notices: list[Notice] = []
    with PtyDevice() as dev:
        port = serial.serial_for_url(dev.path, timeout=0.05)
        try:
            dev.play(chunked(path.read_bytes(), seed, largest))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                finished = dev.done.is_set()  # set before this read: everything is written
                data = port.read(max(1, port.in_waiting))
                if data:
                    got = dec.feed(data, time.monotonic())
                    notices += got.notices
                    if got.frames is not None:
                        blocks.append(got.frames)
                elif finished:
                    break
            else:
                pytest.fail("the replay did not finish in time")
        finally:
            port.close()
    got = dec.flush(time.monotonic())
    notices += got.notices
    if got.frames is not None:
        blocks.append(got.frames)
    return FrameBlock.concat(blocks), notices


def read_csv(path: Path, delimiter: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text("ascii")), delimiter=delimiter))
    return rows[0], [r for r in rows[1:] if r]


@pytest.mark.parametrize("name", ["hx711_arduino_9600_log22.csv", "hx711_arduino_9600_log24.csv"])
@pytest.mark.parametrize("seed, largest", [(1, 3), (2, 64), (3, 4096)])
def test_hx711_recordings(name: str, seed: int, largest: int) -> None:
    dec = make_decoder(parse_profile(HX711))
    block, notices = replay(REAL / name, dec, seed, largest)
    header, rows = read_csv(REAL / name, ",")
    assert header == ["Times", "Measures"]
    assert len(block) == len(rows) == {"hx711_arduino_9600_log22.csv": 124,
                                       "hx711_arduino_9600_log24.csv": 170}[name]
    np.testing.assert_array_equal(block.values[:, 0], [float(r[1]) for r in rows])
    np.testing.assert_array_equal(block.device_time, [int(r[0]) * 1e-3 for r in rows])
    assert notices == [] and dec.counters.undecodable == 0
    assert dec.counters.bytes == (REAL / name).stat().st_size
    assert np.all(np.diff(block.host_time) >= 0)


@pytest.mark.parametrize("seed, largest", [(4, 700), (5, 16384)])
def test_forceplate_recording(seed: int, largest: int) -> None:
    dec = make_decoder(parse_profile(FORCEPLATE))
    block, notices = replay(REAL / "forceplate_lr_100hz.tsv", dec, seed, largest)
    header, rows = read_csv(REAL / "forceplate_lr_100hz.tsv", "\t")
    left, right = header.index("dominant Fvert (N)"), header.index("non-dominant Fvert (N)")
    assert len(block) == len(rows) == 6000
    np.testing.assert_array_equal(block.values,
                                  [[float(r[left]), float(r[right])] for r in rows])
    np.testing.assert_array_equal(block.device_time, [float(r[0]) for r in rows])
    assert notices == [] and dec.counters.undecodable == 0


@pytest.mark.parametrize("seed, largest", [(6, 999), (7, 20000)])
def test_kitronyx_recording(seed: int, largest: int) -> None:
    dec = make_decoder(parse_profile(KITRONYX))
    block, notices = replay(REAL / "kitronyx_48x48_adc.csv", dec, seed, largest)
    header, rows = read_csv(REAL / "kitronyx_48x48_adc.csv", ",")
    assert header[0] == "Measurement Time (sec)" and header[-1] == ""  # the trailing comma
    assert block.values.shape == (len(rows), 48, 48) == (14, 48, 48)
    expected = np.array([[float(v) for v in r[1:]] for r in rows]).reshape(-1, 48, 48)
    np.testing.assert_array_equal(block.values, expected)
    np.testing.assert_array_equal(block.device_time, [float(r[0]) for r in rows])
    assert block.values.max() == 251 and not block.flags.any()
    assert notices == [] and dec.counters.undecodable == dec.counters.wrong_size == 0
    assert dec.header_lines == 1  # type: ignore[attr-defined]
