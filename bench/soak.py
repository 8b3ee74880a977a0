"""Memory over a long recording: RSS of ``sotlog record`` on a 48x48 mat, sampled as it runs.

Run: ``python bench/soak.py [--minutes 30] [--speed 3] [--every 30]``. The simulated mat sends
100 frames/s times ``--speed`` (3: a 48x48 mat at 300 fps, three hours of session in an hour),
recorded into a fresh store. Beside it, in the same run, a bare pyserial read loop on the same
device: the floor any reader of this port pays. Prints RSS every ``--every`` seconds, then the
slope over the second half (MB per minute) for both. Target: sotlog's RSS flat (the second
half's slope within 0.1 MB/min of the read loop's). RSS is read twice a second, so the peak
while the session closes (its end checks read the whole session back) is printed too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAT = "sim://mat?rows=48&cols=48&rate=100&protocol=blockframe&seed=1&speed={speed}"
READ_LOOP = """
import sys, time, serial
from firmware_bridge.urlhandler import register; register()  # sim://
port = serial.serial_for_url(sys.argv[1], timeout=0.05)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    port.read(max(1, port.in_waiting))
"""


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def slope(samples: list[tuple[float, float]]) -> float:
    """Least-squares MB per minute over the second half of ``(minutes, MB)`` samples."""
    half = samples[len(samples) // 2:]
    if len(half) < 2:
        return float("nan")
    n = len(half)
    mt = sum(t for t, _ in half) / n
    mm = sum(m for _, m in half) / n
    den = sum((t - mt) ** 2 for t, _ in half)
    return sum((t - mt) * (m - mm) for t, m in half) / den if den else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=3.0)
    ap.add_argument("--every", type=float, default=30.0, help="seconds between RSS samples")
    args = ap.parse_args()
    url = MAT.format(speed=args.speed)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "soak.sqlite3"
        record = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "record", "--port", url, "--profile",
             "sim-mat-48", "--duration", str(seconds), "--store", str(store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        loop = subprocess.Popen([sys.executable, "-c", READ_LOOP, url, str(seconds)])
        start = time.monotonic()
        rows: dict[str, list[tuple[float, float]]] = {"sotlog record": [], "read loop": []}
        print(f"{'minute':>7} {'sotlog record MB':>17} {'read loop MB':>13} {'store MB':>9}",
              flush=True)
        closing_peak, next_print = 0.0, args.every
        while record.poll() is None:
            time.sleep(0.5)
            elapsed = time.monotonic() - start
            a = rss_mb(record.pid)
            if a is None:
                break
            if elapsed > seconds:  # the duration is over: the session is closing
                closing_peak = max(closing_peak, a)
                continue
            if elapsed < next_print:
                continue
            next_print += args.every
            minute, b = elapsed / 60, rss_mb(loop.pid)
            rows["sotlog record"].append((minute, a))
            if b is not None:
                rows["read loop"].append((minute, b))
            size = os.path.getsize(store) / 1e6 if store.exists() else 0.0
            print(f"{minute:7.1f} {a:17.1f} {b or float('nan'):13.1f} {size:9.1f}", flush=True)
        record.wait()
        loop.wait()
    print()
    for name, samples in rows.items():
        if samples:
            peak = max(m for _, m in samples)
            print(f"{name:14} peak {peak:7.1f} MB while recording, second-half slope "
                  f"{slope(samples):+.3f} MB/min")
    print(f"closing the session (end checks): peak {closing_peak:.1f} MB")


if __name__ == "__main__":
    main()
