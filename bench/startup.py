"""Command-line startup: ``sotlog --version`` and ``sotlog sessions`` beside ``python -c pass``.

The target (README, Performance): each under 2x ``python -c pass`` plus the store's open, where
"the store's open" is what opening a store and reading a page of 50 sessions costs inside a
process that has imported everything already (so it is not startup). Each is a fresh process
(``sys.executable``), timed best of ``--repeat``, in wall time and in CPU time (user +
system: steadier on a shared machine), with bytecode written and read as an installed sotlog
has it (PYTHONDONTWRITEBYTECODE unset); the store holds ``--sessions`` ended sessions
without samples (listing does not read samples; bench/listing.py times a store of 5,000 full
ones).

    python bench/startup.py [--repeat 20] [--sessions 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sensing.store.storefile import StoreFile  # noqa: E402
from tests.dashboard.many import fill  # noqa: E402


def best(cmd: list[str], repeat: int) -> tuple[float, float]:
    """The best wall time and the best CPU time (user + system) of ``repeat`` runs, after one
    that compiles what it imports (as an installed sotlog has its bytecode)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(walls), min(cpus)


def store_open(path: Path, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        StoreFile.open(path).sessions(limit=50)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "s.sqlite3"
        fill(store, args.sessions)
        py = [sys.executable]
        cli = [*py, "-m", "dashboard.cli"]
        bare = best([*py, "-c", "pass"], args.repeat)
        opened = store_open(store, args.repeat)
        budget = (2 * bare[0] + opened[0], 2 * bare[1] + opened[1])
        rows = [("python -c pass", bare), ("store open + 50 listed, in-process", opened),
                ("sotlog --version", best([*cli, "--version"], args.repeat)),
                ("sotlog sessions", best([*cli, "sessions", "--store", str(store)],
                                         args.repeat)),
                ("sotlog show 1 (imports numpy)", best([*cli, "show", "1", "--store", str(store)],
                                                       max(3, args.repeat // 4)))]
    print(f"best of {args.repeat}; budget = 2 x python -c pass + store open = "
          f"{budget[0] * 1e3:.0f} ms wall, {budget[1] * 1e3:.0f} ms CPU")
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}  {'wall ms':>8}  {'x pass':>6}  {'x budget':>8}  {'CPU ms':>7}  "
          f"{'x pass':>6}  {'x budget':>8}")
    for name, (wall, cpu) in rows:
        print(f"{name.ljust(width)}  {wall * 1e3:8.1f}  {wall / bare[0]:6.1f}  "
              f"{wall / budget[0]:8.2f}  {cpu * 1e3:7.1f}  {cpu / bare[1]:6.1f}  "
              f"{cpu / budget[1]:8.2f}")

if __name__ == "__main__":
    main()
