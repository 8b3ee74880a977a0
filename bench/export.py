"""Export time and size per format, next to the format's library writing the same arrays directly.

Two sessions are recorded into a temporary store with the real Recorder from synthetic frame
blocks: 1 hour of 4 load cells at 80 Hz, and 10 minutes of a 48x48 uint16 mat at 50 frames/s.
Each is exported in every format; the "floor" writes the same sample table (and, for hdf5, the
mat frames) with the format's library alone, without reading the store or building metadata.
"(store read)" is the time to read the session's samples and frames, which every export pays;
"minus read s" is the export time without it. Times are the best of two runs.

Then memory: a 30-minute 48x48 mat at 50 frames/s is exported in every format by `sotlog
export` in a child process, and its peak RSS is printed beside the child that only imports the
same modules (the floor) and the session's frames as raw uint16 (what reading them whole holds).
Target: under 300 MB in every format.

    python bench/export.py [--quick]      # --quick: 1/10 of the durations
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import Profile, parse_profile
from sensing.metadata import Block, SessionMeta
from sensing.outputs.exports import FORMATS, export_session, exporter
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

LOADCELLS_TOML = """
name = "bench-loadcells-4"
protocol = "blockframe"
nominal_rate_hz = 80
[options]
dtype = "int32"
""" + "".join(f"""
[[channels]]
name = "{n}"
unit = "kg"
block = "{side}"
scale = 5e-05
offset = -1.0
""" for n, side in (("left", "left"), ("right", "right"), ("left2", "left"), ("right2", "right")))

MAT_TOML = """
name = "bench-mat-48"
protocol = "blockframe"
nominal_rate_hz = 50
[matrix]
rows = 48
cols = 48
raw_min = 0
raw_max = 4095
dtype = "uint16"
"""

REPEAT = 2
T = TypeVar("T")
BLOCK_S = 1.0  # seconds of frames handed to the recorder at a time, as a bridge would


def _record(store: Store, profile: Profile, n: int, rate: float,
            make: Callable[[np.ndarray], np.ndarray]) -> int:
    t0 = 1000.0
    meta = SessionMeta(subject_code="P-0001", position="prone", category="II",
                       blocks=[Block(side="left", landmark="iliac_crest"),
                               Block(side="right", landmark="acetabulum")])
    sid = store.create_session(meta, profile, port="bench://", device="synthetic", t0_host=t0)
    rec = Recorder(store, sid)
    rng = np.random.default_rng(0)
    step = int(rate * BLOCK_S)
    for a in range(0, n, step):
        k = np.arange(a, min(n, a + step))
        host = t0 + k / rate + rng.uniform(0, 0.002, len(k))
        rec.on_frames(FrameBlock.build(make(k), host, device_time=k / rate, seq=k))
    for i, kind in enumerate(("placed", "removed")):
        rec.add_event(kind, f"{kind} block", host_time=t0 + (i + 1) * n / rate / 3)
    rec.close("complete", counters=Counters(frames=n))
    return sid


def loadcell_frames(k: np.ndarray) -> np.ndarray:
    t = k[:, None] / 80.0
    load = 20_000 * (1 + np.sin(2 * np.pi * t / 4.0)) + np.arange(4) * 1000
    noise = np.random.default_rng(int(k[0])).normal(0, 60, (len(k), 4))
    return (20_000 + 400_000 * (t > 30) + load + noise).astype(np.int32)


def mat_frames(k: np.ndarray) -> np.ndarray:
    rr, cc = np.mgrid[0:48, 0:48]
    pads = sum(np.exp(-(((rr - 32) / 5.0) ** 2 + ((cc - c) / 4.0) ** 2)) for c in (14, 34))
    breath = 1 + 0.05 * np.sin(2 * np.pi * k / 50.0 / 4.0)
    noise = np.random.default_rng(int(k[0])).normal(0, 2, (len(k), 48, 48))
    frames = 3000 * pads[None] * breath[:, None, None] + noise
    return np.clip(np.where(frames < 4, 0, frames), 0, 4095).astype(np.uint16)


FIXED = ("time_s", "device_time_s", "seq", "flags")


# Format -> writer of (table columns, mat frames or None) straight to a path with its library.
def _floor_csv(cols: dict[str, np.ndarray], frames: np.ndarray | None, path: Path) -> None:
    np.savetxt(path, np.column_stack(list(cols.values())), fmt="%.9g", delimiter=",",
               header=",".join(cols), comments="")


def _floor_bids(cols: dict[str, np.ndarray], frames: np.ndarray | None, path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=6) as fh:
        np.savetxt(fh, np.column_stack(list(cols.values())), fmt="%.9g", delimiter="\t")


def _floor_parquet(cols: dict[str, np.ndarray], frames: np.ndarray | None, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(cols), path, compression="zstd")


def _floor_hdf5(cols: dict[str, np.ndarray], frames: np.ndarray | None, path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        for name, values in cols.items():
            f.create_dataset(f"samples/{name}", data=values)
        if frames is not None:
            f.create_dataset("frames/values", data=frames, chunks=(64, *frames.shape[1:]),
                             compression="gzip", compression_opts=4, shuffle=True)


def _floor_c3d(cols: dict[str, np.ndarray], frames: np.ndarray | None, path: Path) -> None:
    import ezc3d

    names = [k for k in cols if k not in FIXED and not k.startswith("raw:")]
    forces = [cols[k] for k in names]
    n = len(forces[0])
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([80.0])
    c["parameters"]["ANALOG"]["RATE"]["value"] = np.array([80.0])
    c["parameters"]["ANALOG"]["LABELS"]["value"] = names
    c["data"]["analogs"] = np.vstack(forces)[None]
    c["data"]["points"] = np.zeros((4, 0, n))
    c["data"]["meta_points"] = {"residuals": np.zeros((1, 0, n)),
                                "camera_masks": np.zeros((7, 0, n), dtype=bool)}
    del c["data"]["rotations"]
    c.write(str(path))


FLOORS = {"csv": (_floor_csv, ".csv"), "bids": (_floor_bids, ".tsv.gz"),
          "parquet": (_floor_parquet, ".parquet"), "hdf5": (_floor_hdf5, ".h5"),
          "c3d": (_floor_c3d, ".c3d")}


def _best(fn: Callable[[], T], repeat: int = REPEAT) -> tuple[float, T]:
    """The shortest of ``repeat`` runs (first runs pay for cold caches and lazy set-up)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result  # type: ignore[return-value]


def _size(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def bench(store: Store, sid: int, label: str, work: Path) -> list[list[str]]:
    rows = []
    session = store.session(sid)
    read_s, (samples, frames) = _best(lambda: (session.samples(), session.frames()))
    cols = {"time_s": samples.time_s, "device_time_s": samples.device_time_s,
            "seq": frames.seq, "flags": frames.flags}
    cols.update({f"{n}_{u}": samples.values[:, j]
                 for j, (n, u) in enumerate(zip(samples.names, samples.units, strict=True))})
    mat = frames.values if frames.values.ndim == 3 else None
    if mat is None:
        cols.update({f"raw:{n}": frames.values[:, j].astype(np.float64)
                     for j, n in enumerate(session.info.channel_names)})
    rows.append([label, "(store read)", f"{read_s:.2f}", "", "", "", "", ""])
    for fmt in FORMATS:
        out = work / f"{label}-{fmt}"
        exporter(fmt)  # import the format's library before timing
        export_s, files = _best(partial(export_session, session, fmt, out, overwrite=True))
        floor, suffix = FLOORS[fmt]
        floor_path = work / f"{label}-floor{suffix}"
        floor_s, _ = _best(partial(floor, cols, mat if fmt == "hdf5" else None, floor_path))
        rows.append([label, fmt, f"{export_s:.2f}", f"{max(0.0, export_s - read_s):.2f}",
                     f"{_size(files):.1f}", f"{floor_s:.2f}", f"{_size([floor_path]):.1f}",
                     f"{export_s / floor_s:.1f}x"])
        shutil.rmtree(out)
        floor_path.unlink()
        print(f"  {label} {fmt}: {export_s:.2f} s", file=sys.stderr, flush=True)
    session.close()
    return rows


# Started from a small interpreter: a child forked from this process, which holds whole sessions
# for the floors above, would count this process's pages in its own peak.
PEAK = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss if os.waitstatus_to_exitcode(status) == 0 else -1)
"""


def _peak_mb(argv: list[str]) -> float:
    """Peak RSS of a process running ``argv``, MB."""
    kb = int(subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True,
                            text=True, check=True).stdout)
    if kb < 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return kb / 1024


def memory(work: Path, scale: float) -> list[list[str]]:
    """Peak RSS of ``sotlog export`` of a 30-minute mat, per format, beside the import floor."""
    path = work / "mat30.sqlite3"
    store = Store.open(path)
    n = int(1800 * 50 * scale)
    sid = _record(store, parse_profile(MAT_TOML, "bench"), n, 50.0, mat_frames)
    raw_mb = n * 48 * 48 * 2 / 1e6
    rows = []
    for fmt in FORMATS:
        out = work / f"rss-{fmt}"
        peak = _peak_mb([sys.executable, "-m", "dashboard.cli", "export", str(sid), "--format",
                         fmt, "-o", str(out), "--store", str(path)])
        floor = _peak_mb([sys.executable, "-c", "import dashboard.cli, sensing.store.sessions, "
                          f"sensing.outputs.exports.{fmt}"])
        rows.append([f"48x48-50fps-{n / 50 / 60:.0f}min", fmt, f"{peak:.0f}", f"{floor:.0f}",
                     f"{raw_mb:.0f}", "met" if peak < 300 else "NOT MET"])
        shutil.rmtree(out)
        print(f"  rss {fmt}: {peak:.0f} MB", file=sys.stderr, flush=True)
    return rows


def _table(header: list[str], rows: list[list[str]]) -> None:
    print("\n".join(aligned(header, rows)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the durations")
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    work = Path(tempfile.mkdtemp(prefix="sotlog-bench-export-"))
    try:
        store = Store.open(work / "bench.sqlite3")
        t = time.perf_counter()
        n_lc, n_mat = int(3600 * 80 * scale), int(600 * 50 * scale)
        lc = _record(store, parse_profile(LOADCELLS_TOML, "bench"), n_lc, 80.0, loadcell_frames)
        mat = _record(store, parse_profile(MAT_TOML, "bench"), n_mat, 50.0, mat_frames)
        print(f"recorded both sessions in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        rows = bench(store, lc, f"4ch-80Hz-{n_lc / 80 / 60:.0f}min", work)
        rows += bench(store, mat, f"48x48-50fps-{n_mat / 50 / 60:.0f}min", work)
        rss = memory(work, scale)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _table(["session", "format", "export s", "minus read s", "export MB", "floor s",
            "floor MB", "export/floor"], rows)
    print()
    _table(["session", "format", "peak RSS MB", "floor (imports) MB", "frames as raw MB",
            "< 300 MB"], rss)


if __name__ == "__main__":
    main()
