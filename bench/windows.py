"""Peak memory and time of reading a stored mat session, by read-window size.

Run: .venv/bin/python bench/windows.py STORE [--session 1] [--frames 250 455 910 2000 20000]

For each window size (frames of the session's mat, set through ``sensing.store.read``'s
``WINDOW_BYTES``) a fresh interpreter derives the session's mat data (``sensing.mat.derive``:
what its close, or the first read of an older session, pays; ``sotlog show`` then reads only
that). Each child prints its wall and CPU seconds and its peak RSS; one table follows. The cost
of a window grows with its size while the time does not fall past a few hundred frames
(docs/store.md, "Reading in windows").
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import resource, sys, time
from sensing.store import read
from sensing.store.sessions import Store
from sensing.mat.derive import derive
store, sid, frames = Store.open(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with store.session(sid) as s:
    read.WINDOW_BYTES = frames * 8 * (s.info.frame_shape[0] * s.info.frame_shape[1])
    t = time.perf_counter()
    derive(s.info.profile.matrix, s.info.conversion, s.frame_windows)
    wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"{wall:.1f} {ru.ru_utime + ru.ru_stime:.1f} {ru.ru_maxrss / 1024:.0f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--session", type=int, default=1)
    ap.add_argument("--frames", type=int, nargs="+", default=[250, 455, 910, 2000, 20000])
    args = ap.parse_args()
    print(f"{'frames/window':>13}  {'wall s':>6}  {'cpu s':>6}  {'peak MB':>7}")
    for frames in args.frames:
        out = subprocess.run([sys.executable, "-c", CHILD, args.store, str(args.session),
                              str(frames)], capture_output=True, text=True, check=True)
        wall, cpu, peak = out.stdout.split()
        print(f"{frames:>13}  {wall:>6}  {cpu:>6}  {peak:>7}")


if __name__ == "__main__":
    main()
