"""Listing a store of 5,000 sessions: ``sotlog sessions`` and ``GET /api/sessions?limit=50``,
warm and cold, beside the same SELECT ... LIMIT 50 straight through sqlite3.

The store holds 5,000 five-minute 2-cell 80 Hz load-cell sessions (24,000 frames each, with
their wire text as the raw capture) and a few 48x48 mat sessions, written through the real
Store and Recorder from synthetic frame blocks. It is built once into ``--store`` (default
/tmp/sotlog-bench-listing.sqlite3) and reused while it holds the sessions asked for.

"Cold" drops the page cache (``echo 1 > /proc/sys/vm/drop_caches``, as root) before each
run; where that is refused, the store is copied to a new path first (its pages may still be
cached: the line says which was done). Times are the best of ``--repeat`` runs. Last, the
first page of sessions an older sotlog ended (no counts stored: counted from their chunks, then
kept), and the whole listing as it was before store version 3.

    python bench/listing.py [--sessions 5000] [--mats 10] [--store PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import Profile, parse_profile
from sensing.metadata import Block, SessionMeta
from sensing.store.listing import COLUMNS, NEWEST_FIRST
from sensing.store.read import INFO_SELECT, info_from_row
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from sensing.vocabulary import CATEGORIES, POSITIONS

ROOT = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in {**os.environ, "PYTHONPATH": str(ROOT)}.items()
       if k != "PYTHONDONTWRITEBYTECODE"}  # run as installed: bytecode compiled once
CELLS_TOML = """
name = "bench-loadcells-2"
protocol = "lines"
nominal_rate_hz = 80
""" + "".join(f"""
[[channels]]
name = "{side}"
unit = "kg"
block = "{side}"
scale = 5e-05
offset = -1.0
""" for side in ("left", "right"))
MAT_TOML = """
name = "bench-mat-48"
protocol = "blockframe"
nominal_rate_hz = 20
[matrix]
rows = 48
cols = 48
raw_min = 0
raw_max = 4095
dtype = "uint16"
"""
CELL_RATE, CELL_SECONDS = 80.0, 300
MAT_RATE, MAT_SECONDS = 20.0, 120
SESSION_GAP_S = 6300  # 5,000 sessions: about a clinic's year of starts


def _started(i: int) -> str:
    t = 1_735_689_600 + i * SESSION_GAP_S  # from 2025-01-01
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(t))


def _meta(i: int) -> SessionMeta:
    return SessionMeta(subject_code=f"P-{i % 400:04d}", position=POSITIONS[i % 2],
                       category=CATEGORIES[i % 3],
                       blocks=[Block(side="left", landmark="iliac_crest", angle_deg=30),
                               Block(side="right", landmark="acetabulum")])


def _record(store: Store, profile: Profile, i: int, values: np.ndarray, rate: float,
            wire: bytes) -> None:
    """One session through the real writer: its frames a second at a time, its wire text."""
    t0 = 1000.0
    sid = store.create_session(_meta(i), profile, port="bench://", device="synthetic",
                               t0_host=t0, started_utc=_started(i), face="record")
    rec = Recorder(store, sid)
    n = len(values)
    k = np.arange(n)
    host = t0 + k / rate
    step = int(rate)
    per_read = max(1, len(wire) // max(1, n // step))
    for a in range(0, n, step):
        s = slice(a, a + step)
        read = wire[a // step * per_read:(a // step + 1) * per_read]
        if read:
            rec.on_raw(read, float(host[min(n, a + step) - 1]))
        rec.on_frames(FrameBlock.build(values[s], host[s], device_time=k[s] / rate, seq=k[s]))
    rec.close("complete", counters=Counters(frames=n, bytes=len(wire)))


def build(path: Path, sessions: int, mats: int) -> None:
    """Write the bench store: ``sessions`` load-cell sessions and ``mats`` mat sessions."""
    store = Store.open(path)
    cells, mat = parse_profile(CELLS_TOML, "bench"), parse_profile(MAT_TOML, "bench")
    rng = np.random.default_rng(0)
    n = int(CELL_RATE * CELL_SECONDS)
    t = np.arange(n) / CELL_RATE
    base = 20_000 + 400_000 * (t > 30)[:, None] + 1000 * np.sin(2 * np.pi * t / 4.0)[:, None]
    done = len(store.sessions())
    started = time.perf_counter()
    every = max(1, (sessions + mats) // max(1, mats)) if mats else 0
    for i in range(done, sessions + mats):
        if mats and i % every == every - 1:
            m = int(MAT_RATE * MAT_SECONDS)
            rr, cc = np.mgrid[0:48, 0:48]
            pads = sum(np.exp(-(((rr - 32) / 5.0) ** 2 + ((cc - c) / 4.0) ** 2))
                       for c in (14, 34))
            frames = (3000 * pads[None] + rng.normal(0, 2, (m, 48, 48))).clip(0, 4095)
            _record(store, mat, i, frames.astype(np.uint16), MAT_RATE, b"")
            continue
        values = (base + rng.normal(0, 60, (n, 2))).astype(np.int64)
        ms = (t * 1000).astype(np.int64)
        wire = "".join(f"{a},{b},{c}\r\n" for a, b, c in
                       zip(ms.tolist(), values[:, 0].tolist(), values[:, 1].tolist(),
                           strict=True)).encode()
        _record(store, cells, i, values.astype(np.float64), CELL_RATE, wire)
        if i % 250 == 249:
            rate = (i + 1 - done) / (time.perf_counter() - started)
            print(f"built {i + 1} sessions ({rate:.0f}/s)", file=sys.stderr, flush=True)


def best(run: Callable[[], object], repeat: int, before: Callable[[], None] | None = None
         ) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


class Cold:
    """Empty the page cache before a run, or failing that read a fresh copy of the store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.how = "page cache dropped"
        try:
            self.drop()
        except OSError:
            self.how = "fresh copy of the file (page cache could not be dropped)"

    def drop(self) -> None:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")

    def before(self) -> None:
        if self.how == "page cache dropped":
            self.drop()
            return
        copy = self.path.with_name(self.path.stem + "-cold" + self.path.suffix)
        shutil.copyfile(self.path, copy)
        os.replace(copy, self.path)


def sql_floor(path: Path, offset: int = 0) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute(f"SELECT {COLUMNS} FROM sessions{NEWEST_FIRST} LIMIT 50 OFFSET ?",
                 (offset,)).fetchall()
    conn.close()


def old_listing(path: Path) -> None:
    """What listing did before store version 3: every session's counts from its chunks and
    every profile parsed, the page cut in Python."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    infos = [info_from_row(r) for r in conn.execute(INFO_SELECT + NEWEST_FIRST.replace(
        "started_utc", "s.started_utc").replace("id DESC", "s.id DESC"))]
    conn.close()
    assert infos


def forget_counts(path: Path, newest: int) -> None:
    """Make the newest sessions look as an older sotlog left them: no stored counts."""
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE sessions SET frame_count = NULL, duration_s = NULL WHERE id IN "
                     f"(SELECT id FROM sessions{NEWEST_FIRST} LIMIT ?)", (newest,))


# Times a command from a small parent process: spawned from this one (numpy, the store and
# the web client loaded), every process starts some 25 ms later, the floor's as much as ours.
TIMER = """
import json, os, subprocess, sys, time
cmd, repeat, drop, env = json.loads(sys.argv[1])
times = []
for _ in range(repeat):
    if drop:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\\n")
    t = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    times.append(time.perf_counter() - t)
print(min(times))
"""


class Process:
    """``python ARGS`` timed from a small parent, bytecode compiled once (as when installed)."""

    def __init__(self, *args: str) -> None:
        self.cmd = [sys.executable, *args]
        subprocess.run(self.cmd, check=True, capture_output=True, env=ENV, cwd=ROOT)

    def best(self, repeat: int, cold: Cold | None = None) -> float:
        drop = cold is not None and cold.how == "page cache dropped"
        if cold is not None and not drop:  # a fresh copy before each run instead
            times = []
            for _ in range(repeat):
                cold.before()
                times.append(self.best(1))
            return min(times)
        done = subprocess.run(
            [sys.executable, "-c", TIMER, json.dumps([self.cmd, repeat, drop, ENV])],
            check=True, capture_output=True, text=True, cwd=ROOT)
        return float(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--mats", type=int, default=10)
    ap.add_argument("--store", type=Path, default=Path("/tmp/sotlog-bench-listing.sqlite3"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    path = args.store
    t = time.perf_counter()
    build(path, args.sessions, args.mats)
    print(f"store: {path} ({path.stat().st_size / 1e9:.2f} GB, built or checked in "
          f"{time.perf_counter() - t:.0f} s)", file=sys.stderr)
    cold = Cold(path)
    store = str(path)
    rows: list[tuple[str, float, float, float, float]] = []

    def measure(name: str, run: Callable[[], object], floor: Callable[[], object]) -> None:
        warm, warm_floor = best(run, args.repeat), best(floor, args.repeat)
        cold_s = best(run, 2, cold.before)
        cold_floor = best(floor, 2, cold.before)
        rows.append((name, warm, warm_floor, cold_s, cold_floor))

    measure("Store.sessions(limit=50) in-process",
            lambda: Store.open(path).sessions(limit=50), lambda: sql_floor(path))
    ours = Process("-m", "dashboard.cli", "sessions", "--store", store)
    floor = Process("-c", f"import sqlite3; c = sqlite3.connect('file:{store}?mode=ro', "
                          f"uri=True); c.execute('SELECT {COLUMNS} FROM sessions{NEWEST_FIRST} "
                          "LIMIT 50').fetchall()")
    rows.append(("sotlog sessions (a process)", ours.best(args.repeat), floor.best(args.repeat),
                 ours.best(2, cold), floor.best(2, cold)))
    server = serve(path)
    try:
        measure("GET /api/sessions?limit=50 (sotlog serve)",
                lambda: server.get("/api/sessions?limit=50").raise_for_status(),
                lambda: sql_floor(path))
        end = max(0, args.sessions + args.mats - 50)
        last = f"/api/sessions?limit=50&offset={end}"
        measure(f"GET {last}", lambda: server.get(last).raise_for_status(),
                lambda: sql_floor(path, end))
    finally:
        server.stop()
    first_old = best(lambda: Store.open(path).sessions(limit=50), 1,
                     lambda: forget_counts(path, 50))
    def forget_cold() -> None:
        forget_counts(path, 50)
        cold.before()

    first_old_cold = best(lambda: Store.open(path).sessions(limit=50), 1, forget_cold)
    with sqlite3.connect(path) as conn:  # the first page kept what it counted
        assert conn.execute("SELECT count(*) FROM sessions WHERE frame_count IS NULL"
                            ).fetchone()[0] == 0
    before_s = best(lambda: old_listing(path), 1)
    print(f"{args.sessions} load-cell + {args.mats} mat sessions; cold: {cold.how}")
    header = ("what", "warm s", "SQL floor s", "warm/floor", "cold s", "cold floor s")
    print("\n".join(aligned(header, [
        (n, f"{w:.4f}", f"{f:.4f}", f"{w / f:.1f}x", f"{c:.3f}", f"{cf:.3f}")
        for n, w, f, c, cf in rows])))
    print(f"first page of sessions an older sotlog ended (50 counted from their chunks and "
          f"kept): {first_old:.3f} s warm, {first_old_cold:.3f} s cold; then as above")
    print(f"before store version 3 (every session counted, every profile parsed): "
          f"{before_s:.3f} s warm")


class serve:  # noqa: N801  (used like a function)
    """``sotlog serve --store PATH`` on a free port, and an HTTP client to it."""

    def __init__(self, path: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", "--http-port", str(port),
             "--store", str(path)], env=ENV, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.http.get("/api/status").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("sotlog serve did not answer within 60 s")

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    main()
