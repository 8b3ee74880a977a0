"""Import and reparse in bulk: throughput and peak memory, each beside a baseline of the same run.

Run: .venv/bin/python bench/importer.py [--hours 2] [--mat-minutes 30] [--repeats 3]

- **import**: a 2-hour 4-cell text log (bench/decode.py's ``four_cells``: ``millis,a,b,c,d`` at
  80 Hz, HX711 counts, CRLF, a header) imported by ``import_file`` in a child process (its own
  timing of the call, after one on the file's first 64 KiB has loaded the modules used on
  first use; its peak RSS from ``/usr/bin/time``), runs alternating with
  ``pandas.read_csv`` of the same file in a child. Best of ``--repeats`` each; whether sotlog's
  optional C part (``firmware_bridge.native``) is built is printed with it. Targets: at
  least 30 % of pandas' throughput; peak RSS under 200 MB. Beside them, the decoding alone (the
  decoder over the file's blocks in a child, nothing stored: how much of the import is the
  store's), and the ``sotlog import`` command once, start-up included.
- **reparse**: a 30-minute 48x48 uint16 mat at 50 frames/s, recorded as the bridge hands a
  ``sim://mat`` device's blockframe stream to the recorder (4 KiB reads, each with its arrival
  time), then ``sotlog reparse ID`` in a child: its time, peak RSS and verdict. Baseline: a child
  that only reads the stored frames in windows (``Session.frame_windows``), the least any
  comparison reads. Target: under 300 MB peak, identical.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from decode import LINES_4CH, four_cells  # bench/decode.py, beside this file

from firmware_bridge import native
from firmware_bridge.profiles import load_profile
from firmware_bridge.protocols import make_decoder
from firmware_bridge.sim.mat import MatDevice
from firmware_bridge.sim.options import MatConfig, parse_sim_url
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

ROOT = Path(__file__).resolve().parents[1]
PROFILE = LINES_4CH.replace('name = "bench-4ch"', 'name = "bench-4ch"\nnominal_rate_hz = 80')
IMPORT = """
import sys, time
from firmware_bridge.profiles import parse_profile
from sensing.metadata import SessionMeta
from sensing.store.importer import import_file
from sensing.store.sessions import Store
profile = parse_profile(open(sys.argv[3]).read(), sys.argv[3])
warm = sys.argv[2] + ".warm.csv"  # modules loaded on first use, as pandas' are by its import
with open(sys.argv[1], "rb") as src, open(warm, "wb") as dst:
    dst.write(src.read(1 << 16))
import_file(Store.open(sys.argv[2] + ".warm"), warm, profile, SessionMeta())
store = Store.open(sys.argv[2])
t = time.perf_counter()
result = import_file(store, sys.argv[1], profile, SessionMeta())
print(time.perf_counter() - t, result.frames)
"""
DECODE = """
import sys, time
import numpy as np
from pathlib import Path
from firmware_bridge.profiles import parse_profile
from firmware_bridge.protocols import make_decoder
from sensing.store import heap
from sensing.store.importer import blocks
profile = parse_profile(open(sys.argv[2]).read(), sys.argv[2])
heap.keep_freed_memory()  # as an import does
make_decoder(profile).feed_reads(b"1,2,3,4,5\\n", np.zeros(1, np.int64), np.zeros(1))
t = time.perf_counter()
decoder, n, frames = make_decoder(profile), 0, 0
for data, starts in blocks(Path(sys.argv[1]), None):
    out = decoder.feed_reads(data, starts, np.arange(n, n + len(starts), dtype=np.float64))
    n, frames = n + len(starts), frames + (len(out.frames) if out.frames is not None else 0)
print(time.perf_counter() - t, frames)
"""
PANDAS = """
import sys, time
import pandas
t = time.perf_counter()
frame = pandas.read_csv(sys.argv[1])
print(time.perf_counter() - t, len(frame))
"""
WINDOWS = """
import sys, time
from sensing.store.sessions import Store
t = time.perf_counter()
with Store.open(sys.argv[1]).session(int(sys.argv[2])) as s:
    n = sum(len(w) for w in s.frame_windows())
print(time.perf_counter() - t, n)
"""
MAT_RATE = 50
READ = 4096  # bytes a USB serial read typically returns


def child(args: list[str]) -> tuple[float, float, str]:
    """Run ``args`` with this checkout first on the path: (wall s, peak RSS MB, stdout).

    Under /usr/bin/time, whose own small process forks the child: a child forked from this
    one would count this process's memory in its peak."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as usage:
        t = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", usage.name, *args],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - t
        peak_kb = usage.read().split()[-1]
    if done.returncode != 0 and not done.stdout.strip():
        raise SystemExit(f"{args[:3]} failed: {done.stderr.strip()}")
    return wall, int(peak_kb) / 1024, done.stdout


def bench_import(workdir: Path, hours: float, repeats: int) -> list[tuple[str, str, str]]:
    log = workdir / "four-cells.csv"
    log.write_bytes(four_cells(hours * 3600 * 80 * 40 / 1e6))
    profile = workdir / "bench-4ch.toml"
    profile.write_text(PROFILE)
    size = log.stat().st_size
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    decoding: list[float] = []
    frames = rows = 0
    for k in range(repeats):
        _, _, text = child([sys.executable, "-c", DECODE, str(log), str(profile)])
        decoding.append(float(text.split()[0]))
        store = workdir / f"import-{k}.sqlite3"
        _, rss, text = child([sys.executable, "-c", IMPORT, str(log), str(store), str(profile)])
        seconds, frames = text.split()
        ours.append((float(seconds), rss))
        _, rss, text = child([sys.executable, "-c", PANDAS, str(log)])
        seconds, rows = text.split()
        theirs.append((float(seconds), rss))
        for p in workdir.glob(f"import-{k}.*"):
            p.unlink()
    if int(frames) != int(rows):
        raise SystemExit(f"import gave {frames} frames, pandas {rows} rows")
    ours_s, ours_rss = min(s for s, _ in ours), max(r for _, r in ours)
    pandas_s, pandas_rss = min(s for s, _ in theirs), max(r for _, r in theirs)
    store = workdir / "cli.sqlite3"
    cli_s, cli_rss, _ = child([sys.executable, "-m", "dashboard.cli", "import", str(log),
                               "--profile", str(profile), "--store", str(store)])
    share = pandas_s / ours_s
    decode_s = min(decoding)
    return [
        (f"import_file, {hours:g} h 4-cell text log ({size / 1e6:.1f} MB, {int(frames):,} lines; "
         f"sotlog's C part {'built' if native.ctext is not None else 'NOT built: numpy alone'})",
         f"{size / ours_s / 1e6:.1f} MB/s ({ours_s:.2f} s), peak RSS {ours_rss:.0f} MB",
         f"pandas.read_csv {size / pandas_s / 1e6:.1f} MB/s ({pandas_s:.2f} s), peak RSS "
         f"{pandas_rss:.0f} MB: import at {100 * share:.0f} % of its throughput "
         f"(target >= 30 %: {'met' if share >= 0.3 else 'NOT met'}; RSS < 200 MB: "
         f"{'met' if ours_rss < 200 else 'NOT met'})"),
        ("  its decoding alone (the same decoder over the same blocks, nothing stored)",
         f"{size / decode_s / 1e6:.1f} MB/s ({decode_s:.2f} s): {100 * pandas_s / decode_s:.0f} % "
         "of pandas' throughput", ""),
        ("  `sotlog import` command, start-up included",
         f"{cli_s:.2f} s, {size / cli_s / 1e6:.1f} MB/s, peak RSS {cli_rss:.0f} MB", ""),
    ]


def record_mat(store_path: Path, minutes: float) -> int:
    """A mat session as the bridge records one: its reads with arrival times, decoded."""
    profile = load_profile("sim-mat-48")
    config = parse_sim_url(f"sim://mat?rows=48&cols=48&rate={MAT_RATE}&seed=1")[1]
    assert isinstance(config, MatConfig)
    device = MatDevice(config)
    store = Store.open(store_path)
    sid = store.create_session(SessionMeta(subject_code="P-0001"), profile,
                               port="sim://mat?rows=48&cols=48", device="bench", t0_host=0.0,
                               face="bench")
    recorder = Recorder(store, sid)
    decoder = make_decoder(profile)
    n = int(minutes * 60 * MAT_RATE)
    sent = 0
    pending = b""
    for k0 in range(0, n, 250):
        frames = device.render(k0, min(n, k0 + 250))
        wire = pending + b"".join(frames)
        byte_rate = len(frames[0]) * MAT_RATE
        cut = len(wire) - len(wire) % READ
        for at in range(0, cut, READ):
            piece = wire[at:at + READ]
            sent += len(piece)
            host = sent / byte_rate  # when the read's last byte came
            recorder.on_raw(piece, host)
            out = decoder.feed(piece, host)
            if out.frames is not None:
                recorder.on_frames(out.frames)
        pending = wire[cut:]
        while decoder.counters.frames - recorder.frames_written > 2000:
            time.sleep(0.01)
    recorder.close("complete", decoder.counters)
    return sid


def bench_reparse(workdir: Path, minutes: float) -> list[tuple[str, str, str]]:
    store = workdir / "mat.sqlite3"
    sid = record_mat(store, minutes)
    with Store.open(store).session(sid) as s:
        n = s.info.n_frames
    base_s, base_rss, _ = child([sys.executable, "-c", WINDOWS, str(store), str(sid)])
    wall, rss, text = child([sys.executable, "-m", "dashboard.cli", "reparse", str(sid),
                             "--store", str(store)])
    said = text.strip().splitlines()[-1] if text.strip() else ""
    size = store.stat().st_size
    return [(f"`sotlog reparse`, {minutes:g}-min 48x48 uint16 mat at {MAT_RATE} fps "
             f"({n:,} frames, store {size / 1e6:.0f} MB)",
             f"{wall:.1f} s, peak RSS {rss:.0f} MB; says: {said[:60]}",
             f"reading the stored frames in windows alone {base_s:.1f} s, peak RSS "
             f"{base_rss:.0f} MB (target < 300 MB: {'met' if rss < 300 else 'NOT met'})")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--mat-minutes", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sotlog-bench-") as tmp:
        rows = bench_import(Path(tmp), args.hours, args.repeats)
        rows += bench_reparse(Path(tmp), args.mat_minutes)
    for what, measured, baseline in rows:
        print(f"{what}\n    {measured}\n    {baseline}" if baseline else f"{what}\n    {measured}")


if __name__ == "__main__":
    main()
