"""`sotlog report` time, next to a bare matplotlib one-page PDF of the same samples.

Two sessions are recorded into a temporary store with the real Recorder (bench/export.py's
sessions): 10 minutes of 4 load cells at 80 Hz, and 30 minutes of a 48x48 uint16 mat at 50
frames/s. For each, `sotlog report ID -o FILE.pdf` runs as a person runs it (a new process:
start-up, reading the store, measures, drawing, writing), and so does the baseline: a process
that imports numpy and matplotlib, loads the session's force samples from a .npy file, draws them
as one line plot on one page and writes the PDF. In-process rows split the report's time into
reading and measuring (`gather`) and drawing (`write_report`), beside the imports alone and the
store's own read of every frame (`Session.frame_windows`, the floor of any figure over a whole
mat session). Times are the best of two runs.
Targets: under 2 s (load cells) and under 5 s (mat).

    python bench/report.py [--quick]      # --quick: 1/10 of the durations
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from export import LOADCELLS_TOML, MAT_TOML, _record, loadcell_frames, mat_frames
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.profiles import parse_profile
from sensing.outputs.report import write_report
from sensing.outputs.reportdata import gather
from sensing.store.sessions import Store

REPEAT = 2
T = TypeVar("T")
BASELINE = """
import sys
import numpy as np
from matplotlib.figure import Figure
data = np.load(sys.argv[1])
fig = Figure(figsize=(8.27, 11.69))
ax = fig.add_subplot()
ax.plot(data[:, 0], data[:, 1:], linewidth=0.8)
fig.savefig(sys.argv[2], format="pdf")
"""


def _best(fn: Callable[[], T], repeat: int = REPEAT) -> tuple[float, T]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out  # type: ignore[return-value]


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def bench(store: Store, sid: int, label: str, work: Path, target: float) -> list[list[str]]:
    session = store.session(sid)
    samples = session.samples(units="N")
    npy = work / f"{sid}.npy"
    np.save(npy, np.column_stack([samples.time_s, samples.values]))
    pdf = work / f"{sid}.pdf"
    cli = [sys.executable, "-m", "dashboard.cli", "report", str(sid), "-o", str(pdf), "--force",
           "--store", str(store.path)]
    base = [sys.executable, "-c", BASELINE, str(npy), str(work / f"{sid}-base.pdf")]
    t_cli, _ = _best(lambda: _run(cli))
    t_base, _ = _best(lambda: _run(base))
    t_gather, data = _best(lambda: gather(session, config={}))
    t_draw, _ = _best(lambda: write_report(data, work / f"{sid}-in.pdf"))
    t_plot, _ = _best(lambda: _run([sys.executable, "-c", "import numpy, matplotlib.figure"]))
    t_read, _ = _best(lambda: sum(len(b) for b in session.frame_windows()))
    met = "met" if t_cli < target else "**not met**"
    frames = f"{session.info.n_frames:,} frames"
    return [
        [f"{label}: `sotlog report` ({frames})", f"{t_cli:.2f} s", f"{t_base:.2f} s",
         f"{t_cli / t_base:.1f}x", f"< {target:g} s: {met}"],
        [f"{label}: in process, gather / draw", f"{t_gather:.2f} / {t_draw:.2f} s",
         f"imports alone {t_plot:.2f} s; reading the stored frames alone {t_read:.2f} s", "",
         ""],
        [f"{label}: PDF size", f"{pdf.stat().st_size / 1e3:.0f} kB",
         f"{(work / f'{sid}-base.pdf').stat().st_size / 1e3:.0f} kB", "", ""],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1/10 of the durations")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = Store.open(work / "bench.sqlite3")
        print("recording the sessions ...", file=sys.stderr, flush=True)
        cells = _record(store, parse_profile(LOADCELLS_TOML, "bench"), int(600 * 80 * scale),
                        80.0, loadcell_frames)
        mat = _record(store, parse_profile(MAT_TOML, "bench"), int(1800 * 50 * scale), 50.0,
                      mat_frames)
        rows = [*bench(store, cells, "10 min, 4 cells, 80 Hz", work, 2.0),
                *bench(store, mat, "30 min, 48x48 mat, 50 fps", work, 5.0)]
    print("\n".join(aligned(["what", "report", "baseline (one-line-plot PDF)", "ratio",
                             "target"], rows)))


if __name__ == "__main__":
    main()
