"""A closed session's small chunks and raw rows, gathered into fewer: the same frames and reads,
bit for bit.

While it records, the writer commits every half second, so a load cell at 80 Hz leaves chunks
of 40 frames and raw rows of 40 reads: 14,400 of each for two hours, each paying its own decode
when read (about 140 µs) and compressed on its own (a kilobyte of text compresses to about half
what a minute of it does per byte). When the session closes they are gathered into rows of up
to ``GATHER_SECONDS`` and ``MAX_CHUNK_BYTES`` of values (chunks), or ``MAX_RAW_BYTES`` of bytes
(raw rows, which are read whole, from the start, never by time), each compressed harder once
(``codec.encode(..., gather=True)``), a raw row's arrival times as references to the frames
whose host times they are (``packing.pack_refs``; ``framerefs``). A mat's chunks and raw rows
of half a second hold hundreds of kB (a 48x48 mat at 50 frames/s: 230 kB) and are left as they
are: re-encoding them would cost the close seconds and spare little.

The new rows are encoded first, outside any transaction; then the old rows of a batch are
deleted and the new ones inserted in one transaction, so a stop in between leaves every frame and
read in exactly one row, and a session's gathered rows are written together, in the pages its
own small rows freed.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from sensing.store import codec as store_codec
from sensing.store import framerefs, packing
from sensing.store.codec import MAX_CHUNK_BYTES
from sensing.store.schema import insert

GATHER_SECONDS = 60.0  # host time one gathered row may span
SMALL_BYTES = 64 << 10  # rows of fewer bytes of values (or raw bytes) than this are gathered
MAX_RAW_BYTES = packing.ZSTD_GATHER_BYTES  # raw bytes in one gathered raw row
BATCH_BYTES = 64 << 20  # bytes of values and raw decoded for one transaction, at most


@dataclass
class _Run:
    """Rows to gather into one: their keys, and what the gathered row spans."""

    table: str  # "chunks" or "raw"
    keys: list[int]  # first_index or chunk_index, in order
    nbytes: int


def _runs(rows: list[Any], table: str, cap: int, seconds: float) -> Iterator[_Run]:
    """Runs of two or more small rows in a row, of one kind, within ``seconds`` and ``cap``
    bytes. ``rows``: ``(key, t_first, t_last, kind, nbytes)`` in order."""
    run: _Run | None = None
    start = 0.0
    kind: Any = None
    for key, t_first, t_last, this, nbytes in rows:
        small = nbytes < SMALL_BYTES
        if (run and small and kind == this and t_last - start <= seconds
                and run.nbytes + nbytes <= cap):
            run.keys.append(key)
            run.nbytes += nbytes
            continue
        if run and len(run.keys) > 1:
            yield run
        run, start, kind = (_Run(table, [key], nbytes), t_first, this) if small else (
            None, 0.0, None)
    if run and len(run.keys) > 1:
        yield run


def _chunk_runs(conn: sqlite3.Connection, session_id: int) -> Iterator[_Run]:
    rows = [(first, t_first, t_last, (dtype, shape),
             count * np.dtype(dtype).itemsize * math.prod(json.loads(shape)))
            for first, t_first, t_last, dtype, count, shape in conn.execute(
                "SELECT first_index, t_first, t_last, dtype, count, shape_json FROM chunks "
                "WHERE session_id = ? ORDER BY first_index", (session_id,))]
    return _runs(rows, "chunks", MAX_CHUNK_BYTES, GATHER_SECONDS)


def _raw_runs(conn: sqlite3.Connection, session_id: int) -> Iterator[_Run]:
    rows = conn.execute("SELECT chunk_index, t_first, t_last, prelude, nbytes FROM raw "
                        "WHERE session_id = ? ORDER BY chunk_index", (session_id,)).fetchall()
    return _runs([tuple(r) for r in rows], "raw", MAX_RAW_BYTES, math.inf)


KEY = {"chunks": "first_index", "raw": "chunk_index"}


def _select(conn: sqlite3.Connection, session_id: int, run: _Run) -> list[sqlite3.Row]:
    marks = ", ".join("?" * len(run.keys))
    key = KEY[run.table]
    return conn.execute(f"SELECT * FROM {run.table} WHERE session_id = ? AND {key} IN ({marks}) "
                        f"ORDER BY {key}", (session_id, *run.keys)).fetchall()


def _gathered(conn: sqlite3.Connection, session_id: int, run: _Run) -> dict[str, Any]:
    """The one row that holds ``run``'s rows, encoded."""
    rows = _select(conn, session_id, run)
    times = {"t_first": min(r["t_first"] for r in rows), "t_last": max(r["t_last"] for r in rows)}
    if run.table == "chunks":
        block = FrameBlock.concat([store_codec.decode_chunk(r) for r in rows])
        row = store_codec.encode_chunk(block, gather=True)
        return dict(row, session_id=session_id, first_index=run.keys[0], **times)
    known = framerefs.frame_times(framerefs.session_query(conn), session_id)
    parts = [store_codec.decode_raw_reads(r, known) for r in rows]
    offsets = np.cumsum([0, *(len(data) for data, _, _ in parts[:-1])])
    starts = np.concatenate([s + off for (_, s, _), off in zip(parts, offsets, strict=True)])
    frames = framerefs.frames_between(conn, session_id, times["t_first"], times["t_last"])
    row = store_codec.encode_raw_reads(b"".join(data for data, _, _ in parts), starts,
                                       np.concatenate([t for _, _, t in parts]), gather=True,
                                       frames=frames)
    return dict(row, session_id=session_id, chunk_index=run.keys[0], prelude=rows[0]["prelude"],
                **times)


def _batches(conn: sqlite3.Connection, session_id: int) -> Iterator[list[_Run]]:
    batch: list[_Run] = []
    size = 0
    for run in [*_chunk_runs(conn, session_id), *_raw_runs(conn, session_id)]:
        if batch and size + run.nbytes > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(run)
        size += run.nbytes
    if batch:
        yield batch


def gather_chunks(conn: sqlite3.Connection, session_id: int) -> tuple[int, int]:
    """Gather the session's runs of small chunks and raw rows; ``(rows before, rows after)``,
    chunks and raw rows together. ``conn`` is in autocommit mode; each batch of runs (at most
    BATCH_BYTES decoded) is one transaction."""
    count = ("SELECT (SELECT count(*) FROM chunks WHERE session_id = ?) + "
             "(SELECT count(*) FROM raw WHERE session_id = ?)")
    before = conn.execute(count, (session_id, session_id)).fetchone()[0]
    for batch in list(_batches(conn, session_id)):
        rows = [_gathered(conn, session_id, run) for run in batch]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for run in batch:
                marks = ", ".join("?" * len(run.keys))
                gone = conn.execute(f"DELETE FROM {run.table} WHERE session_id = ? AND "
                                    f"{KEY[run.table]} IN ({marks})", (session_id, *run.keys))
                if gone.rowcount != len(run.keys):  # changed since they were read: leave them
                    raise sqlite3.OperationalError(f"{run.table} of session {session_id} changed "
                                                   "while they were gathered")
            for run, row in zip(batch, rows, strict=True):
                insert(conn, run.table, row)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    after = conn.execute(count, (session_id, session_id)).fetchone()[0]
    return before, after
