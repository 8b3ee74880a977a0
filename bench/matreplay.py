"""A mat session's replay: its frames as one-byte-a-sensel binary spans, against one JSON frame
per request (what the replay page asked for before, at most 5 a second).

A 2-minute session of a 48x48 uint16 mat at 50 frames/s (6,000 frames) is written into a
temporary store by the real Recorder; ``sotlog serve`` answers on it. Printed: for a 10 s span
(500 frames) as one binary body (``/mat/frames``), and for 50 frames of the same span asked one
at a time as JSON (``/mat?t=``), the time per frame (ms) and the bytes per frame, and the frames
a second each way can bring. Target: a 50 frame/s session at 8x (400 frames/s) through the
binary spans.

    python bench/matreplay.py
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from serving import served  # bench/serving.py, beside this file
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

RATE = 50.0
SECONDS = 120


def record(path: Path, rate: float = RATE, seconds: float = SECONDS) -> int:
    """A session of a 48x48 uint16 mat: two footprints breathing slowly, with noise."""
    store = Store.open(path)
    n = int(seconds * rate)
    sid = store.create_session(SessionMeta(subject_code="P-0001"), load_profile("sim-mat-48"),
                               port="bench://", device="synthetic", t0_host=1000.0)
    rec = Recorder(store, sid)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48]
    def ellipse(col: int) -> np.ndarray:
        return np.asarray((yy - 30) ** 2 / 40 + (xx - col) ** 2 / 20 < 1)

    foot = ellipse(14) | ellipse(34)
    for a in range(0, n, 500):
        k = np.arange(a, min(n, a + 500))
        values = (foot[None] * (600 + 80 * np.sin(k / 50.0))[:, None, None]
                  + rng.integers(0, 20, (len(k), 48, 48))).astype(np.uint16)
        rec.on_frames(FrameBlock.build(values, 1000.0 + k / rate, device_time=k / rate, seq=k))
    rec.close("complete", counters=Counters(frames=n))
    return sid


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sotlog-bench-matreplay-"))
    try:
        store = work / "s.sqlite3"
        sid = record(store)
        with served(store) as http:
            http.get(f"/api/sessions/{sid}/mat/frames", params={"t0": 0, "t1": 1})  # warm
            t = time.perf_counter()
            body = http.get(f"/api/sessions/{sid}/mat/frames", params={"t0": 30, "t1": 40}).content
            binary_s = time.perf_counter() - t
            n_binary = int(10 * RATE)
            t = time.perf_counter()
            json_bytes = 0
            for k in range(50):
                json_bytes += len(http.get(f"/api/sessions/{sid}/mat",
                                           params={"t": 30 + k / RATE}).content)
            json_s = time.perf_counter() - t
            rows = [("binary span, 10 s (500 frames)", binary_s / n_binary, len(body) / n_binary),
                    ("baseline: JSON, a frame a request (50)", json_s / 50, json_bytes / 50)]
            print(f"{SECONDS} s of a 48x48 uint16 mat at {RATE:g} frames/s")
            print("\n".join(aligned(["way", "ms/frame", "bytes/frame", "frames/s it can bring"],
                                    [[w, f"{s * 1000:.2f}", f"{b:,.0f}", f"{1 / s:,.0f}"]
                                     for w, s, b in rows])))
            ratio = rows[1][1] / rows[0][1]
            print(f"binary spans {ratio:.0f}x faster a frame, "
                  f"{rows[1][2] / rows[0][2]:.1f}x fewer bytes")
            need = 8 * RATE
            print(f"8x of {RATE:g} frames/s needs {need:g} frames/s: "
                  f"{'met' if 1 / rows[0][1] >= need else 'NOT MET'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
