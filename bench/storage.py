"""What a recorded session costs in the store file, beside today's codec and gzip of the wire.

Run: .venv/bin/python bench/storage.py [--minutes 5] [--speed 1]

Two sessions are recorded at once, each by a process and into a store of its own, the way
``sotlog record`` does (the real ``Bridge`` and ``Recorder``, a read per arrival, gathered at
close):

- load cells, ``sim://loadcells?blocks=2&rate=80&protocol=lines`` (text lines);
- a 48x48 uint16 mat at 50 frames/s, ``sim://mat`` (blockframe binary).

Each is measured three ways, in the same run, on the same frames and bytes:

- **now**: the bytes the session's chunk and raw rows take in the file's pages (tables and
  their indexes, from SQLite's ``dbstat``: overflow pages whole, the used part of b-tree pages,
  whose free space holds other sessions' rows; not the free pages gathering leaves behind);
- **format 1**: the same frames and reads written as sotlog wrote them before (every column by
  its fixed zlib codec, a read for a line's first byte and another for the rest, raw rows of half
  a second, chunks gathered at close), into a store of its own, measured alike;
- **gzip -6** of the wire bytes, the plain floor everyone knows.

Targets: load cells at least 3x smaller than format 1 and no bigger than gzip + 20 %; the mat no
bigger than format 1. Then, per session, the gathered columns compressed by zlib and zstd at
several levels (what chose ``packing.ZSTD_LIVE`` and ``ZSTD_GATHER``; the mat's, whose rows
are not gathered, at the levels fast enough to record with).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.bridge import Bridge
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store import codec, framerefs, packing
from sensing.store.schema import insert
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

LOAD_CELLS = "load cells, 2 x 80 Hz text lines"
SESSIONS = {
    LOAD_CELLS: (
        "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1", "sim-loadcells"),
    "48x48 uint16 mat, 50 fps blockframe": (
        "sim://mat?rows=48&cols=48&rate=50&seed=1", "sim-mat-48"),
}
TABLES = ("chunks", "raw", "chunks_time", "chunks_time_last", "sqlite_autoindex_chunks_1",
          "sqlite_autoindex_raw_1")
FLUSH_S = 0.5  # the recorder's flush interval: format 1's raw rows were this long
LIVE_CHUNK_S = 1.0
GATHER_S = 60.0
SMALL = 64 << 10  # gather.SMALL_BYTES: chunks of fewer bytes of values were gathered


@dataclass
class Recorded:
    path: Path
    session_id: int
    seconds: float


def record(path: Path, url: str, profile_name: str, seconds: float, speed: float) -> int:
    """Record ``url`` for ``seconds`` of device time as ``sotlog record`` would; the session's
    id."""
    profile = load_profile(profile_name)
    if speed != 1:
        url += f"&speed={speed:g}"
    store = Store.open(path)
    bridge = Bridge(url, profile)
    bridge.open_once()
    sid = store.create_session(SessionMeta(subject_code="P-0001"), profile, port=url,
                               device="bench", face="bench")
    recorder = Recorder(store, sid)
    bridge.add_listener(recorder, history=True)
    bridge.start()
    threading.Event().wait(seconds / speed)
    bridge.stop()
    recorder.close("complete", bridge.counters)
    return sid


def pages(path: Path) -> int:
    """Bytes of the pages the chunk and raw tables and their indexes hold."""
    with sqlite3.connect(path) as conn:
        marks = ", ".join("?" * len(TABLES))
        # a b-tree page's free space holds other sessions' rows; an overflow page's is lost
        return int(conn.execute(
            "SELECT coalesce(sum(CASE pagetype WHEN 'overflow' THEN pgsize ELSE pgsize - unused "
            f"END), 0) FROM dbstat WHERE name IN ({marks})", TABLES).fetchone()[0])


def blobs(path: Path) -> dict[str, int]:
    """Bytes of each blob column, summed."""
    with sqlite3.connect(path) as conn:
        c = conn.execute("SELECT sum(length(vals)), sum(length(host_time)), "
                         "sum(length(device_time)), sum(length(seq) + length(flags)) "
                         "FROM chunks").fetchone()
        r = conn.execute("SELECT sum(length(data)), sum(length(arrival)), sum(length(offsets)), "
                         "sum(reads), count(*) FROM raw").fetchone()
    names = ("values", "host_time", "device_time", "seq+flags", "raw data", "arrival",
             "offsets", "reads", "raw rows")
    return dict(zip(names, (int(x or 0) for x in (*c, *r)), strict=True))


def locality(path: Path, table: str) -> dict[int, tuple[int, int]]:
    """Per session: ``(overflow pages, runs of consecutive page numbers among them)`` of its
    ``table`` rows. A leaf page's cells are its rows in rowid order; an overflow page's dbstat
    path names its leaf page and cell (``/00a/003+000005``)."""
    with sqlite3.connect(path) as conn:
        owner = [sid for (sid,) in conn.execute(f"SELECT session_id FROM {table} ORDER BY rowid")]
        pages = conn.execute("SELECT path, pageno, pagetype, ncell FROM dbstat WHERE name = ?",
                             (table,)).fetchall()
    first: dict[str, int] = {}
    cells = 0
    for leaf, _, _, ncell in sorted(p for p in pages if p[2] == "leaf"):
        first[leaf] = cells
        cells += ncell
    found: dict[int, list[int]] = {}
    for where, pageno, kind, _ in pages:
        if kind == "overflow":
            leaf, cell = where[:where.rindex("/") + 1], where[where.rindex("/") + 1:].split("+")[0]
            found.setdefault(owner[first[leaf] + int(cell, 16)], []).append(pageno)
    return {sid: (len(nos), 1 + int(np.count_nonzero(np.diff(np.sort(nos)) != 1)))
            for sid, nos in sorted(found.items())}


def format_1_codec(dtype: np.dtype) -> str:
    if dtype.kind in "iu":
        return "delta-zigzag-shuffle-zlib"
    return "shuffle-zlib" if dtype.kind == "f" and dtype.itemsize > 1 else "zlib"


def chunk_v1(block: FrameBlock) -> dict[str, object]:
    values = packing.little(block.values)
    row: dict[str, object] = {
        "count": len(block), "dtype": values.dtype.str,
        "shape_json": json.dumps(list(block.frame_shape)),
        "codec": format_1_codec(values.dtype),
        "vals": codec.encode(values, format_1_codec(values.dtype))[1]}
    for name, (old, dtype) in codec.COLUMNS.items():
        row[name] = codec.encode(np.asarray(getattr(block, name), dtype), old)[1]
    return row


def raw_v1(data: bytes, starts: np.ndarray, arrival: np.ndarray) -> dict[str, object]:
    return {"reads": len(starts), "nbytes": len(data), "data": packing.deflate(data),
            "arrival": codec.encode(arrival, "shuffle-zlib")[1],
            "offsets": codec.encode(starts, "delta-zigzag-shuffle-zlib")[1]}


def split_reads(data: bytes, starts: np.ndarray, arrival: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each read as format 1's pump made it: its first byte, then the rest (same arrival)."""
    ends = np.r_[starts[1:], len(data)]
    more = ends - starts > 1
    second = starts[more] + 1
    order = np.argsort(np.r_[starts, second], kind="stable")
    return np.r_[starts, second][order], np.r_[arrival, arrival[more]][order]


def write_format_1(rec: Recorded, path: Path) -> None:
    """The recorded session's frames and reads as format 1 wrote them, into a new store."""
    with Store.open(rec.path).session(rec.session_id) as s:
        t0 = s.info.t0_host
        frames = s.frames()
        reads = [(prelude, *block) for prelude in (1, 0) for block in s.raw_blocks(bool(prelude))]
    conn = sqlite3.connect(path, isolation_level=None)
    Store.open(path)  # the schema
    conn.execute("BEGIN")
    # Chunks of a second, gathered at close into a minute when small (a load cell), as format 1
    t = frames.host_time
    per_second = frames.values.nbytes / max(1e-9, float(t[-1] - t[0]))
    span = GATHER_S if per_second * LIVE_CHUNK_S < SMALL else LIVE_CHUNK_S
    cuts = np.flatnonzero(np.diff(np.floor((t - t[0]) / span))) + 1
    first = 0
    for part in np.split(np.arange(len(frames)), cuts):
        block = frames.take(slice(int(part[0]), int(part[-1]) + 1))
        insert(conn, "chunks", dict(chunk_v1(block), session_id=1, first_index=first,
                                    t_first=float(block.host_time[0] - t0),
                                    t_last=float(block.host_time[-1] - t0)))
        first += len(block)
    index = 0
    for prelude, data, starts, arrival in reads:
        starts, arrival = split_reads(data, starts, arrival)
        rows = np.floor((arrival - arrival[0]) / FLUSH_S)  # a raw row per flush
        for part in np.split(np.arange(len(starts)), np.flatnonzero(np.diff(rows)) + 1):
            a, b = int(starts[part[0]]), int(starts[part[-1] + 1]) if part[-1] + 1 < len(
                starts) else len(data)
            insert(conn, "raw", dict(raw_v1(data[a:b], starts[part] - a, arrival[part]),
                                     session_id=1, chunk_index=index, prelude=prelude,
                                     t_first=float(arrival[part[0]] - t0),
                                     t_last=float(arrival[part[-1]] - t0)))
            index += 1
    conn.execute("COMMIT")
    conn.close()


def wire(rec: Recorded) -> bytes:
    with Store.open(rec.path).session(rec.session_id) as s:
        return b"".join(data for data, _, _ in s.raw_blocks())


def compressors(rec: Recorded, hard: bool) -> list[tuple[str, int, float]]:
    """The session's gathered columns (transformed as stored now, but raw arrival times)
    compressed by zlib and zstd at several levels: (name, bytes, seconds)."""
    columns: list[bytes] = []
    with sqlite3.connect(rec.path) as conn:
        conn.row_factory = sqlite3.Row
        for r in conn.execute("SELECT * FROM chunks"):
            block = codec.decode_chunk(r)
            for a in (block.values, *(getattr(block, n) for n in codec.COLUMNS)):
                for transform in codec.candidates(packing.little(np.asarray(a)).dtype):
                    data = packing.TRANSFORMS[transform][0](packing.little(np.asarray(a)))
                    if data is not None:
                        columns.append(data)
                        break
        known = framerefs.frame_times(framerefs.session_query(conn), rec.session_id)
        for r in conn.execute("SELECT * FROM raw"):  # (arrival times: frame references now)
            data, starts, _ = codec.decode_raw_reads(r, known)
            columns += [data, packing.TRANSFORMS["delta-zigzag-shuffle"][0](starts) or b""]
    import zstandard
    out = []
    for name, fn in [("zlib 1", lambda d: zlib.compress(d, 1)),
                     ("zlib 6", lambda d: zlib.compress(d, 6)),
                     *((f"zstd {lvl}", lambda d, lvl=lvl: zstandard.ZstdCompressor(
                         level=lvl).compress(d)) for lvl in (1, 3, 9, 15, 19)
                       if hard or lvl < 15)]:
        t = time.process_time()
        size = sum(len(fn(c)) for c in columns)
        out.append((name, size, time.process_time() - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--speed", type=float, default=1.0,
                    help="simulated seconds per wall second (1: as a device sends them)")
    ap.add_argument("--record", nargs=2, metavar=("SESSION", "STORE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    seconds = args.minutes * 60
    if args.record:  # a child: record one session, say its id
        url, prof = SESSIONS[args.record[0]]
        print(record(Path(args.record[1]), url, prof, seconds, args.speed))
        return
    rows = []
    parts: list[str] = []  # blob bytes by column
    with tempfile.TemporaryDirectory(prefix="sotlog-bench-") as tmp:
        shared = Path(tmp) / "shared.sqlite3"  # two load-cell sessions at once, for locality
        Store.open(shared)
        jobs = [(name, Path(tmp) / f"{k}.sqlite3") for k, name in enumerate(SESSIONS)]
        jobs += [(LOAD_CELLS, shared)] * 2
        children = [(name, path, subprocess.Popen(
            [sys.executable, __file__, "--minutes", str(args.minutes), "--speed",
             str(args.speed), "--record", name, str(path)], stdout=subprocess.PIPE, text=True))
            for name, path in jobs]
        ids = [int(child.communicate()[0]) for _, _, child in children]
        done = {name: Recorded(path, sid, seconds)
                for (name, path, _), sid in zip(children[:len(SESSIONS)], ids, strict=False)}
        levels = []
        for k, name in enumerate(SESSIONS):
            rec = done[name]
            old = Path(tmp) / f"{k}-format1.sqlite3"
            write_format_1(rec, old)
            now, before = pages(rec.path), pages(old)
            raw = wire(rec)
            gz = len(gzip.compress(raw, 6))
            b_now, b_old = blobs(rec.path), blobs(old)
            target = (f"3x: {'met' if before >= 3 * now else 'NOT met'}; <= gzip + 20 %: "
                      f"{'met' if now <= 1.2 * gz else 'NOT met'}" if "load" in name else
                      f"<= format 1: {'met' if now <= before else 'NOT met'}")
            rows.append([f"{name}, {args.minutes:g} min", f"{now / 1e6:.3f} MB",
                         f"{before / 1e6:.3f} MB ({before / now:.2f}x)",
                         f"{gz / 1e6:.3f} MB ({now / gz:.2f} of it)",
                         f"{len(raw) / 1e6:.2f} MB", target])
            parts.append(f"{name}, now / format 1: " + ", ".join(
                f"{k} {b_now[k] / 1e3:.0f}/{b_old[k] / 1e3:.0f} kB" if k not in (
                    "reads", "raw rows") else f"{k} {b_now[k]}/{b_old[k]}" for k in b_now))
            levels.append((name, compressors(rec, hard="load" in name)))
        local = {table: locality(shared, table) for table in ("chunks", "raw")}
    print("\n".join(aligned(["session", "now", "format 1", "gzip -6 of the wire", "wire",
                             "target"], rows)))
    print("\n".join(parts))
    print("\nTwo load-cell sessions recorded into one store at the same time, each gathered at "
          "its close: the overflow pages of each session's rows, and in how many runs of "
          "consecutive pages they lie")
    for table, found in local.items():
        print(f"  {table}: " + "; ".join(f"session {sid}: {n} pages in {runs} run(s)"
                                        for sid, (n, runs) in found.items()))
    print()
    for name, found in levels:
        best = min(size for _, size, _ in found)
        print(f"{name}: the gathered columns compressed by")
        print("\n".join("  " + line for line in aligned(
            ["compressor", "bytes", "CPU s", "vs smallest"],
            [[n, f"{size / 1e3:.0f} kB", f"{s:.2f}", f"{size / best:.2f}x"]
             for n, size, s in found])))


if __name__ == "__main__":
    main()
