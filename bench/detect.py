"""Detection: its live CPU, and the memory of ``sotlog detect`` on long stored sessions.

Run: ``python bench/detect.py [--minutes M] [--hours H ...]``.

1. Live, 4 load cells at 80 Hz: the blocks a bridge hands on (a frame a read: ``sotlog
   record`` of ``sim://loadcells`` reads 1,608 times for 1,602 frames in 20 s) of
   ``--minutes`` of the simulator's body session, fed to ``LiveDetection`` (live conversion,
   total, rule) in this process; CPU time as % of one core over the session's length, beside a
   bare loop over the same blocks and the live conversion alone (which the live view and LSL
   already pay). A loop keeps the caches warm: in a recording, where the bridge thread does
   other work between reads, each step costs several times more (bench/cpu.py measures that).
2. Stored: a session of each length in ``--hours`` (4 cells, 80 Hz) in a real store; in a child
   process each, ``detect`` over it and a raw read of the same chunks (``frame_windows``, values
   thrown away), each child's peak RSS (Linux ``VmHWM``) beside Python with the same imports
   and no reading.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tables import aligned  # noqa: E402
from firmware_bridge.frames import Counters, FrameBlock  # noqa: E402
from firmware_bridge.profiles import load_profile  # noqa: E402
from firmware_bridge.sim.loadcells import LoadcellDevice  # noqa: E402
from firmware_bridge.sim.options import parse_sim_url  # noqa: E402

URL = "sim://loadcells?blocks=4&rate=80&protocol=lines&seed=1&session=120"
PROFILE = "sim-loadcells-4"
RATE = 80
PER_READ = 1  # frames per bridge read at 80 Hz


def sim_blocks(seconds: float, per: int) -> list[FrameBlock]:
    _, config = parse_sim_url(URL)
    device = LoadcellDevice(config)  # type: ignore[arg-type]
    us, counts = device.samples(0, int(seconds * RATE))
    t = (us - device.boot_us) / 1e6
    return [FrameBlock.build(counts[a:a + per].astype(np.float64), 1000.0 + t[a:a + per],
                             t[a:a + per], np.arange(a, min(a + per, t.size)))
            for a in range(0, t.size, per)]


def cpu_of(fn: object, blocks: list[FrameBlock]) -> float:
    start = time.process_time()
    for b in blocks:
        fn(b)  # type: ignore[operator]
    return time.process_time() - start


def live(minutes: float) -> list[list[str]]:
    from sensing.recording.conversion import LiveConversion
    from sensing.recording.livedetect import LiveDetection

    seconds = minutes * 60
    blocks = sim_blocks(seconds, PER_READ)
    conv = LiveConversion(load_profile(PROFILE))
    found: list[object] = []
    detection = LiveDetection(conv, 1000.0, None, found.append)
    bare = cpu_of(lambda b: None, blocks)
    converting = cpu_of(lambda b: conv.forces(b, "N"), blocks)
    detecting = cpu_of(detection.on_frames, blocks)
    kinds = ", ".join(sorted({getattr(e, "kind", "") for e in found}))
    return [["live detection (conversion + total + rule)", f"{100 * detecting / seconds:.3f} %",
             f"{detecting / max(bare, 1e-9):.0f}x bare loop", f"{len(found)} events ({kinds})"],
            ["live conversion alone (paid already)", f"{100 * converting / seconds:.3f} %",
             f"{converting / max(bare, 1e-9):.0f}x bare loop", ""],
            ["bare loop over the same blocks", f"{100 * bare / seconds:.4f} %", "1x", ""]]


# Peak RSS from /proc (VmHWM): getrusage's ru_maxrss keeps the bench's own peak across exec.
CHILD = """
import sys, time
from sensing.store.sessions import Store
from sensing.metrics.detect import detect_session
store = Store.open(sys.argv[1])
session = store.session(1)
start = time.perf_counter()
what = sys.argv[2]
if what == "detect":
    n = len(detect_session(session))
elif what == "raw":
    n = sum(len(b) for b in session.frame_windows())
else:
    n = 0
hwm = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(hwm, time.perf_counter() - start, n)
"""


def make_store(path: Path, hours: float) -> int:
    from sensing.metadata import SessionMeta
    from sensing.store.sessions import Store
    from sensing.store.writer import Recorder

    store = Store.open(path)
    sid = store.create_session(SessionMeta(subject_code="P-0042"), load_profile(PROFILE),
                               t0_host=1000.0)
    rec = Recorder(store, sid)
    _, config = parse_sim_url(URL)
    device = LoadcellDevice(config)  # type: ignore[arg-type]
    total = int(hours * 3600 * RATE)
    step = 60 * RATE
    for a in range(0, total, step):
        us, counts = device.samples(a, min(total, a + step))
        t = (us - device.boot_us) / 1e6
        rec.on_frames(FrameBlock.build(counts.astype(np.float64), 1000.0 + t, t,
                                       np.arange(a, a + t.size)))
    rec.close(counters=Counters(frames=total))
    with store.write_connection() as conn:  # as a store at rest: its write-ahead log folded in
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return total


def child(path: Path, what: str) -> tuple[float, float, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), what], capture_output=True,
                         text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    rss_kb, seconds, n = out.stdout.split()
    return int(rss_kb) / 1024, float(seconds), n


def stored(hours_list: list[float]) -> list[list[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for hours in hours_list:
            path = Path(tmp) / f"{hours:g}h.sqlite3"
            frames = make_store(path, hours)
            base, _, _ = child(path, "none")
            raw, raw_s, _ = child(path, "raw")
            det, det_s, n = child(path, "detect")
            rows.append([f"{hours:g} h, {frames:,} frames", f"{det:.0f} MB ({det_s:.1f} s, "
                         f"{n} events)", f"{raw:.0f} MB ({raw_s:.1f} s)",
                         f"{base:.0f} MB", f"{det - raw:+.0f} MB"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--hours", type=float, nargs="+", default=[0.5, 2.0])
    args = parser.parse_args()
    print(f"live detection, 4 cells x {RATE} Hz, {args.minutes:g} min of sim://, "
          f"{PER_READ} frame(s) a read (% of one core)")
    print("\n".join(aligned(["what", "CPU", "ratio", "found"], live(args.minutes))))
    print()
    print("sotlog detect on stored sessions (4 cells, 80 Hz): peak RSS of a child process")
    print("\n".join(aligned(["session", "detect", "raw read of the same chunks",
                             "imports only", "detect - raw"],
                            stored(args.hours))))
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
