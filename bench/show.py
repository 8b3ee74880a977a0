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

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import parse_profile
from sensing.mat.derive import derive
from sensing.metadata import Block, SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

ROOT = Path(__file__).resolve().parents[1]
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
    t0 = time.perf_counter()
    rec.close("complete", counters=Counters(frames=n))
    return sid, time.perf_counter() - t0


def run_cli(*argv: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dashboard.cli", *argv], env=ENV, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def floor_start() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import dashboard.cli, sensing.store.sessions"],
                   env=ENV, check=True)
    return time.perf_counter() - t0


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


def forget_derived(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM mat_derived_columns")
    conn.execute("DELETE FROM mat_derived")
    conn.commit()
    conn.close()


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
        sid, close_s = record(store, n)
        print(f"recorded {n:,} frames of 48x48 at {RATE:g} frames/s; close {close_s:.2f} s",
              file=sys.stderr, flush=True)
        r = args.repeat
        start, _ = best(floor_start, r)
        show, _ = best(lambda: run_cli("show", str(sid), "--store", str(path)), r)
        show_json, _ = best(lambda: run_cli("show", str(sid), "--json", "--store", str(path)), r)
        head, _ = best(lambda: header(store, sid), r)
        head_sql, _ = best(lambda: raw_header(path, sid), r)
        back, _ = best(lambda: samples(store, sid), r)
        with store.session(sid) as s:
            matrix = s.info.profile.matrix
            assert matrix is not None
            derive_s, _ = best(lambda: derive(matrix, s.info.conversion,  # noqa: B023
                                              s.frame_windows), 1)  # noqa: B023
        sql, nbytes = best(lambda: raw_chunks(path, sid), r)
        total, _ = best(lambda: numpy_sum(store, sid), 1)
        forget_derived(path)
        first = run_cli("show", str(sid), "--store", str(path))
        again = run_cli("show", str(sid), "--store", str(path))
    finally:
        shutil.rmtree(work)
    span = f"{args.minutes:g}-min 48x48 {RATE:g} fps, {n:,} frames"
    base_read = (f"SQL read of its chunks {sql:.2f} s ({nbytes / 1e6:.0f} MB); its frames "
                 f"decoded and summed by numpy {total:.2f} s")
    rows = [
        ["sotlog show (text)", f"{show:.2f} s", "< 1 s",
         f"start-up floor {start:.2f} s ({show / start:.1f} x); {base_read}"],
        ["sotlog show --json", f"{show_json:.2f} s", "< 1 s",
         f"start-up floor {start:.2f} s ({show_json / start:.1f} x)"],
        ["  header + regions, in-process", f"{head * 1e3:.1f} ms", "",
         f"SELECT of the session row {head_sql * 1e3:.1f} ms ({head / head_sql:.0f} x)"],
        ["  Session.samples from derived data (open + read)", f"{back * 1e3:.0f} ms", "",
         f"its frames decoded and summed {total:.2f} s ({total / back:.0f} x)"],
        ["close of the recording (gather + derive)", f"{close_s:.2f} s", "",
         f"{base_read} ({close_s / total:.1f} x the sum)"],
        ["  derive alone, regions found (2 reads)", f"{derive_s:.2f} s", "",
         f"{derive_s / total:.1f} x the decode + sum, {derive_s / sql:.0f} x the SQL read"],
        ["first show of an older session (derives, keeps)", f"{first:.2f} s", "",
         f"the next show {again:.2f} s; {base_read}"],
    ]
    print(f"sotlog show benchmark: {span}; {os.cpu_count()} cores, python "
          f"{sys.version.split()[0]}")
    print("\n".join(aligned(["figure", "measured", "target", "baseline (same run)"], rows)))


if __name__ == "__main__":
    main()
