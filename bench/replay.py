"""Time to the first samples of a replay: a 2-hour session asked for whole, against its first page.

A 2-hour session of 2 load cells at 80 Hz (576,000 frames) is written into a temporary store by
the real Recorder; ``sotlog serve`` answers on it. Printed, for each request: time to the whole
body (ms) and its size (MB): the whole session (what the replay page asked for before it paged),
the first page (the first 60 s, what it plays at once; the server reads the session once for
the on-the-blocks rule) and a later page (600 s, from what the server kept). Target: the first
page within 1 s.

    python bench/replay.py [--minutes 120]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from serving import served  # bench/serving.py, beside this file

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

RATE = 80.0


def record(path: Path, minutes: float) -> int:
    store = Store.open(path)
    n = int(minutes * 60 * RATE)
    sid = store.create_session(SessionMeta(subject_code="P-0001"), load_profile("sim-loadcells"),
                               port="bench://", device="synthetic", t0_host=1000.0)
    rec = Recorder(store, sid)
    rng = np.random.default_rng(0)
    step = 80_000
    for a in range(0, n, step):
        k = np.arange(a, min(n, a + step))
        values = (200_000 + 50_000 * np.sin(k / 4000.0)[:, None]
                  + rng.normal(0, 30, (len(k), 2))).round()
        rec.on_frames(FrameBlock.build(values, 1000.0 + k / RATE, device_time=k / RATE, seq=k))
    rec.close("complete", counters=Counters(frames=n))
    return sid


def timed(http: httpx.Client, url: str, **params: float) -> tuple[float, float]:
    t = time.perf_counter()
    r = http.get(url, params=params)
    r.raise_for_status()
    return (time.perf_counter() - t) * 1000, len(r.content) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sotlog-bench-replay-"))
    try:
        store = work / "s.sqlite3"
        sid = record(store, args.minutes)
        with served(store) as http:
            url = f"/api/sessions/{sid}/samples"
            rows = [("first page, 0-60 s (cold: reads the session)",
                     *timed(http, url, t0=0, t1=60)),
                    ("a later page, 600 s (kept)", *timed(http, url, t0=600, t1=1200))]
            whole = timed(http, url)  # the old way; kept, so this is its JSON only
            rows.append(("whole session (the old replay; from what was kept)", *whole))
            print(f"{args.minutes:g}-minute session, 2 load cells at 80 Hz: "
                  f"{int(args.minutes * 60 * RATE):,} frames")
            for what, ms, mb in rows:
                print(f"  {what:52} {ms:8.0f} ms {mb:8.2f} MB")
            print(f"first page within 1 s: {'met' if rows[0][1] < 1000 else 'NOT MET'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
