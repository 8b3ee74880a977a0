"""``sotlog show`` of a 30-minute 48x48 mat at 50 frames/s, and what its derived data costs.

A session of 90,000 synthetic frames is recorded into a temporary store through the real Store
and Recorder, which derives its regions, block sums and per-frame measures when it closes
(``sensing.mat.derive``, docs/mats.md). Then, each beside baselines measured in the same run:

* ``sotlog show ID`` (text) and ``--json`` in a fresh interpreter, as a person runs them: wall
  time, best of ``--repeat``; beside ``python -c "import dashboard.cli, sensing.store.sessions"``
  (the start-up floor every command pays);
* the session header alone (``Session.info`` and its regions) and the derived data read back,
  in-process; beside the same ``SELECT`` of the session row straight through sqlite3;
* the close-time derivation (the Recorder's close: gathering chunks, then one read of the frames
  as the mean was summed while recording; and ``derive`` alone, which reads them twice), and the
  first open of an older sotlog's session (no derived data: ``show`` derives and keeps it);
  beside the raw SQL read of the session's stored chunks, and its frames decoded once and
  summed by numpy (what any reading of every frame pays at least).

    python bench/show.py [--minutes 30] [--repeat 3]

Target: ``show`` under 1 s (text and ``--json``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from export import MAT_TOML, mat_frames  # bench/export.py, beside this file
from tables import aligned  # bench/tables.py, beside this file

from dashboard.cli import BLAS_THREADS
from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import parse_profile
from sensing.mat.derive import derive
from sensing.metadata import Block, SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

# the baseline child starts numpy as the sotlog command does (one BLAS thread)
os.environ.setdefault(*BLAS_THREADS)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.sensing.store.test_mat_derived import forget_derived  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RATE = 50.0
T = TypeVar("T")


def best(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The best wall time of ``repeat`` runs of ``fn``, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out  # type: ignore[return-value]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (this process, all its threads) of one run of ``fn``."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def record(store: Store, n: int) -> tuple[int, float]:
    """A mat session of ``n`` frames, handed over a second at a time; its id and close time."""
    meta = SessionMeta(subject_code="P-0001", position="prone", category="II",
                       blocks=[Block(side="left", landmark="iliac_crest"),
                               Block(side="right", landmark="acetabulum")])
    sid = store.create_session(meta, parse_profile(MAT_TOML, "bench"), port="bench://",
                               device="synthetic", t0_host=1000.0)
    rec = Recorder(store, sid)
    rng = np.random.default_rng(0)
    for a in range(0, n, int(RATE)):
        k = np.arange(a, min(n, a + int(RATE)))
        host = 1000.0 + k / RATE + rng.uniform(0, 0.002, len(k))
        rec.on_frames(FrameBlock.build(mat_frames(k), host, device_time=k / RATE, seq=k))
    rec.add_event("placed", "placed block", host_time=1000.0 + n / RATE / 3)
    return sid, rec


def child(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a child process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=ENV, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_cli(*argv: str) -> tuple[float, float]:
    return child([sys.executable, "-m", "dashboard.cli", *argv])


def floor_start() -> tuple[float, float]:
    return child([sys.executable, "-c", "import dashboard.cli, sensing.store.sessions"])


def least(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The least wall and the least CPU time of several runs."""
    return min(w for w, _ in runs), min(c for _, c in runs)


def fmt(t: tuple[float, float]) -> str:
    return f"{t[0]:.2f} s (CPU {t[1]:.2f} s)"


def raw_chunks(path: Path, sid: int) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    got = sum(len(v) for (v,) in conn.execute(
        "SELECT vals FROM chunks WHERE session_id = ? ORDER BY first_index", (sid,)))
    conn.close()
    return got


def numpy_sum(store: Store, sid: int) -> float:
    with store.session(sid) as s:
        return float(sum(b.values.sum(dtype=np.float64) for b in s.frame_windows()))


def samples(store: Store, sid: int) -> int:
    with store.session(sid) as s:
        return len(s.samples().values)


def header(store: Store, sid: int) -> int:
    with store.session(sid) as s:
        return len(s.mat_regions()) + s.info.n_frames


def raw_header(path: Path, sid: int) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    row = conn.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
    conn.close()
    return len(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = int(args.minutes * 60 * RATE)
    work = Path(tempfile.mkdtemp(prefix="sotlog-bench-show-"))
    try:
        path = work / "show.sqlite3"
        store = Store.open(path)
        sid, rec = record(store, n)
        close = timed(lambda: rec.close("complete", counters=Counters(frames=n)))
        total = timed(lambda: numpy_sum(store, sid))  # right after: the same load on the machine
        print(f"recorded {n:,} frames of 48x48 at {RATE:g} frames/s; close {fmt(close)}",
              file=sys.stderr, flush=True)
        r = args.repeat
        rounds = [(floor_start(), run_cli("show", str(sid), "--store", str(path)),
                   run_cli("show", str(sid), "--json", "--store", str(path))) for _ in range(r)]
        start, show, show_json = (least([x[i] for x in rounds]) for i in range(3))
        head, _ = best(lambda: header(store, sid), r)
        head_sql, _ = best(lambda: raw_header(path, sid), r)
        back, _ = best(lambda: samples(store, sid), r)
        with store.session(sid) as s:
            matrix = s.info.profile.matrix
            assert matrix is not None
            derive_s = timed(lambda: derive(matrix, s.info.conversion,  # noqa: B023
                                            s.frame_windows))  # noqa: B023
        total2 = timed(lambda: numpy_sum(store, sid))
        sql, nbytes = best(lambda: raw_chunks(path, sid), r)
        forget_derived(store)
        first = run_cli("show", str(sid), "--store", str(path))
        again = run_cli("show", str(sid), "--store", str(path))
        total3 = timed(lambda: numpy_sum(store, sid))
    finally:
        shutil.rmtree(work)
    span = f"{args.minutes:g}-min 48x48 {RATE:g} fps, {n:,} frames"

    def floor(t: tuple[float, float]) -> str:
        return (f"its frames decoded and summed by numpy {fmt(t)}; SQL read of its chunks "
                f"{sql:.2f} s ({nbytes / 1e6:.0f} MB)")

    rows = [
        ["sotlog show (text)", fmt(show), "< 1 s",
         f"start-up floor {fmt(start)}: {show[0] / start[0]:.1f} x wall, "
         f"{show[1] / start[1]:.1f} x CPU"],
        ["sotlog show --json", fmt(show_json), "< 1 s",
         f"start-up floor: {show_json[0] / start[0]:.1f} x wall, "
         f"{show_json[1] / start[1]:.1f} x CPU"],
        ["  header + regions, in-process", f"{head * 1e3:.1f} ms", "",
         f"SELECT of the session row {head_sql * 1e3:.1f} ms"],
        ["  Session.samples from derived data (open + read)", f"{back * 1e3:.0f} ms", "", ""],
        ["close of the recording (gather + derive, 1 read)", fmt(close), "",
         f"{floor(total)}; {close[1] / total[1]:.1f} x its CPU"],
        ["  derive alone, regions found (2 reads)", fmt(derive_s), "",
         f"{floor(total2)}; {derive_s[1] / total2[1]:.1f} x its CPU"],
        ["first show of an older session (derives, keeps)", fmt(first), "",
         f"{floor(total3)}; {first[1] / total3[1]:.1f} x its CPU; the next show {fmt(again)}"],
    ]
    print(f"sotlog show benchmark: {span}; {os.cpu_count()} cores, python "
          f"{sys.version.split()[0]}")
    print("\n".join(aligned(["figure", "measured", "target", "baseline (same run)"], rows)))


if __name__ == "__main__":
    main()
