"""CPU of ``sotlog record`` on a device, next to a plain pyserial read loop on the same device.

Run: ``python bench/cpu.py [--seconds S]``. Both runs are subprocesses measured by their own
user+system CPU time (``/proc/<pid>/stat`` is not needed: ``resource`` reports children).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from dashboard.cli import BLAS_THREADS

# Every child starts numpy as the sotlog command does (one BLAS thread), so a baseline pays no
# start-up the command does not.
os.environ.setdefault(*BLAS_THREADS)
LOADCELLS = ("sim://loadcells?blocks=4&rate=80&protocol=lines&seed=1", "sim-loadcells-4")

# The baseline: the least any reader of this port must do, read bytes as they come.
READ_LOOP = """
import sys, time, serial
from firmware_bridge.urlhandler import register; register()  # sim://
port = serial.serial_for_url(sys.argv[1], timeout=0.05)
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    n += len(port.read(max(1, port.in_waiting)))
print(n)
"""


def child_cpu(cmd: list[str], seconds: float) -> tuple[float, float, str]:
    """(cpu seconds, wall seconds, stdout) of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {out.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, out.stdout


def startup_cpu() -> float:
    """CPU of starting Python and importing sotlog's record path, to subtract from a run."""
    cpu, _, _ = child_cpu([sys.executable, "-c",
                           "import dashboard.cli.record, sensing.store.sessions, "
                           "firmware_bridge.bridge, sensing.store.writer"], 0)
    return cpu


def record_cpu_pct(url: str, profile: str, seconds: float) -> tuple[float, float]:
    """% of one core used by ``sotlog record`` while recording (start-up cost removed)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "dashboard.cli", "record", "--port", url, "--profile",
               profile, "--duration", str(seconds), "--store", os.path.join(tmp, "s.sqlite3")]
        cpu, wall, _ = child_cpu(cmd, seconds)
    base = startup_cpu()
    return 100.0 * max(cpu - base, 0.0) / seconds, wall


def read_loop_cpu_pct(url: str, seconds: float) -> float:
    cpu, _, _ = child_cpu([sys.executable, "-c", READ_LOOP, url, str(seconds)], seconds)
    base, _, _ = child_cpu([sys.executable, "-c", "import serial, firmware_bridge.ports"], 0)
    return 100.0 * max(cpu - base, 0.0) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    url, profile = LOADCELLS
    rec, _ = record_cpu_pct(url, profile, args.seconds)
    loop = read_loop_cpu_pct(url, args.seconds)
    print(f"sotlog record, 4 load cells x 80 Hz, {args.seconds:g} s")
    print(f"{'what':<44}{'CPU % of one core':>18}{'target':>12}")
    print(f"{'sotlog record (decode, store, raw capture)':<44}{rec:>18.2f}{'< 5':>12}")
    print(f"{'baseline: pyserial read loop, same port':<44}{loop:>18.2f}{'':>12}")


if __name__ == "__main__":
    main()
