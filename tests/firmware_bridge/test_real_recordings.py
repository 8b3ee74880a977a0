"""Real recordings (fixtures/real) replayed through a pseudo-terminal, read back with pyserial.

Each file is played in arbitrary chunk sizes by a thread on the pty's device side; sotlog's
decoder reads the other side exactly as it would read /dev/ttyUSB0. The frames must equal what
Python's csv module reads from the same file.
"""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from pathlib import Path
from typing import Any

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


# Each recording as its device sends it after the port opens: one write per line (a sample),
# read by the Bridge. As published (a header first), and as the same device sending no header
# (columns by number; the Kitronyx log also without its time column).
def _numbered(text: str, columns: dict[str, int]) -> str:
    text = text.replace('header = "yes"', "").replace('header = "auto"', "")
    for name, index in columns.items():
        text = text.replace(f'"{name}"', str(index))
    return text.replace("[options]", '[options]\nheader = "no"')


def _no_time(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("time_"))


def _without_first_field(lines: list[bytes]) -> list[bytes]:
    return [ln.split(b",", 1)[1] for ln in lines]


HX711_NO_HEADER = _numbered(HX711, {})
FORCEPLATE_NO_HEADER = _numbered(FORCEPLATE, {"time (s)": 0, "dominant Fvert (N)": 2,
                                              "non-dominant Fvert (N)": 5})
KITRONYX_NO_HEADER = _numbered(KITRONYX, {"Measurement Time (sec)": 0})
SENT = {  # name: (profile, lines the device sends, time column in the file or None)
    "hx711": (HX711, "hx711_arduino_9600_log22.csv", False),
    "hx711-24": (HX711, "hx711_arduino_9600_log24.csv", False),
    "forceplate": (FORCEPLATE, "forceplate_lr_100hz.tsv", False),
    "kitronyx": (KITRONYX, "kitronyx_48x48_adc.csv", False),
    "hx711-no-header": (HX711_NO_HEADER, "hx711_arduino_9600_log22.csv", True),
    "forceplate-no-header": (FORCEPLATE_NO_HEADER, "forceplate_lr_100hz.tsv", True),
    "kitronyx-no-header": (KITRONYX_NO_HEADER, "kitronyx_48x48_adc.csv", True),
    "kitronyx-no-header-no-time": (_no_time(KITRONYX_NO_HEADER), "kitronyx_48x48_adc.csv", True),
}


@pytest.mark.parametrize("case", list(SENT))
def test_every_line_sent_after_the_port_opens_is_kept(case: str, bridges: Any) -> None:
    """The first line the device sends is whole (it starts after the open): it is kept, as a
    header or as the first frame, by what shows it whole (docs/wire.md, The first line)."""
    text, name, headerless = SENT[case]
    lines = (REAL / name).read_bytes().splitlines(keepends=True)
    header = lines[0]
    sent = lines[1:] if headerless else lines
    if case.endswith("no-time"):
        sent = _without_first_field(sent)
    profile = parse_profile(text)
    got = Collect()
    with PtyDevice() as dev:
        bridge = bridges(dev.path, profile, reconnect=False)
        bridge.add_listener(got)
        bridge.start()
        assert bridge.wait_connected(10)  # pyserial empties the input buffer as it opens
        dev.play(sent, interval=0.0005)  # one write a line: each its own sample
        want = len(lines) - 1
        assert got.wait(want), f"{got.frames} of {want} frames"
        bridge.stop()
    counters = bridge.counters
    assert counters.undecodable == counters.wrong_size == 0, got.notices
    assert counters.header_lines == (0 if headerless else 1)
    first = header.decode().split("\t" if name.endswith(".tsv") else ",")
    block = FrameBlock.concat(got.blocks)
    rows = [ln.decode().split("\t" if name.endswith(".tsv") else ",") for ln in lines[1:]]
    if name.startswith("hx711"):
        np.testing.assert_array_equal(block.values[:, 0], [float(r[1]) for r in rows])
    elif name.startswith("forceplate"):
        np.testing.assert_array_equal(block.values, [[float(r[2]), float(r[5])] for r in rows])
    else:
        assert first[0] == "Measurement Time (sec)"
        np.testing.assert_array_equal(block.values.reshape(len(rows), -1),
                                      [[float(v) for v in r[1:]] for r in rows])
    if not case.endswith("no-time"):
        scale = 1e-3 if name.startswith("hx711") else 1.0
        np.testing.assert_allclose(block.device_time, [float(r[0]) * scale for r in rows])


class Collect:
    """A listener keeping every frame block and notice the bridge hands it."""

    def __init__(self) -> None:
        self.blocks: list[FrameBlock] = []
        self.notices: list[Notice] = []
        self.frames = 0
        self._more = threading.Condition()

    def on_frames(self, block: FrameBlock) -> None:
        with self._more:
            self.blocks.append(block)
            self.frames += len(block)
            self._more.notify_all()

    def on_notice(self, notice: Notice) -> None:
        self.notices.append(notice)

    def wait(self, frames: int, timeout: float = 30) -> bool:
        with self._more:
            return self._more.wait_for(lambda: self.frames >= frames, timeout)
