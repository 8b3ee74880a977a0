"""The reference firmware in the loop: built with Debian's AVR toolchain, run in simavr with our
HX711 model on its pins, its UART on a pseudo-terminal, recorded by ``sotlog record``.

The build commands are those of firmware_bridge/firmware/README.md. Where the toolchain is not
installed (.ci/run installs it) the test says which part is missing and skips.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sensing.store.sessions import Store

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_bridge" / "firmware"
NEEDED = {"make": "make", "avr-gcc": "gcc-avr", "cc": "gcc", "/usr/share/arduino/Arduino.mk":
          "arduino-mk", "/usr/include/simavr/sim_avr.h": "libsimavr-dev",
          "/usr/include/libelf.h": "libelf-dev"}
SIM_SECONDS = 2.0
RATE_HZ = 80.0  # the model converts every 12.5 ms, as an HX711 with its RATE pin high


def hx711_count(cell: int, k: np.ndarray) -> np.ndarray:
    """What the model (simavr/hx711_sim.c) converts: the same formula, 24-bit two's complement."""
    raw = (k.astype(np.int64) * 40503 + cell * 5000011) & 0xFFFFFF
    return np.where(raw & 0x800000, raw - (1 << 24), raw)


def missing() -> list[str]:
    return [pkg for what, pkg in NEEDED.items()
            if not (Path(what).exists() if what.startswith("/") else shutil.which(what))]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lack = missing()
    if lack:
        pytest.skip(f"the AVR toolchain is not installed (apt-get install {' '.join(lack)})")
    out = tmp_path_factory.mktemp("firmware")
    for folder, var in (("sotlog_loadcells", "OBJDIR"), ("simavr", "OUT")):
        run = subprocess.run(["make", "-s", "-C", str(FIRMWARE / folder), f"{var}={out}"],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
    return out


def holds_open(pid: int, path: str) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == path for fd in fds.iterdir())
    except OSError:
        return False


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.02)


def test_the_reference_firmware_recorded_from_simavr(built: Path, tmp_path: Path) -> None:
    sim = subprocess.Popen([str(built / "hx711_sim"), str(built / "sotlog_loadcells.elf"),
                            str(SIM_SECONDS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    store = tmp_path / "s.sqlite3"
    rec = None
    try:
        assert sim.stdout is not None and sim.stdin is not None and sim.stderr is not None
        path = ""
        while not path:
            line = sim.stdout.readline()
            assert line, "hx711_sim ended before it opened a pseudo-terminal"
            path = line[4:].strip() if line.startswith("pty ") else ""
        rec = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "record", "--port", path,
                                "--profile", "sotlog-loadcells", "--store", str(store)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: holds_open(rec.pid, path), 30, "sotlog record opened the port")
        sim.stdin.write("\n")  # the firmware starts now: its first frame finds the port open
        sim.stdin.flush()
        done = sim.stderr.readline()
        assert "simulated" in done, done
        time.sleep(0.5)  # the last frames cross the pseudo-terminal
        rec.send_signal(signal.SIGINT)
        out, err = rec.communicate(timeout=30)
        assert rec.returncode == 0, err
    finally:
        if rec is not None and rec.poll() is None:
            rec.kill()
        sim.kill()
        sim.wait()
    session = Store.open(store).session(int(out.strip()))
    block = session.frames()
    # The session begins at Start, a moment after the port opened (frames before it are its
    # prelude): from its first frame on, the sequence is unbroken to the last conversion.
    n, first = len(block), int(block.seq[0])
    assert first < RATE_HZ, f"the session began at frame {first}"
    assert n >= SIM_SECONDS * RATE_HZ - 2 - first, f"{n} frames from {SIM_SECONDS} s"
    assert block.seq.tolist() == list(range(first, first + n))
    for cell in (0, 1):  # the firmware's frame k holds the model's conversion k of each cell
        np.testing.assert_array_equal(block.values[:, cell], hx711_count(cell, block.seq))
    step = np.diff(block.device_time)
    assert np.abs(step - 1 / RATE_HZ).max() < 1e-4, step  # the HX711's rate, on micros()
    shown = json.loads(subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "show", "last", "--json", "--store", str(store)],
        capture_output=True, text=True, timeout=60).stdout)
    counters = shown["counters"]
    assert counters["crc_errors"] == counters["undecodable"] == counters["seq_gaps"] == 0
    assert counters["undecodable_bytes"] == 0 and counters["frames"] == n
