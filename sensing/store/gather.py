"""A closed session's small chunks, gathered into fewer: the same frames, bit for bit.

While it records, the writer commits every half second, so a load cell at 80 Hz leaves chunks
of 40 frames: 14,400 rows for two hours, each paying its own decode when read (about 140 µs).
When the session closes they are gathered into chunks of up to ``GATHER_SECONDS`` of frames
(and ``MAX_CHUNK_BYTES`` of values), each group in one transaction: a stop in between leaves
every frame in exactly one chunk. A mat's chunks of a second hold hundreds of kB of values
(a 48x48 mat at 50 frames/s: 230 kB) and are left as they are: re-encoding them would cost the
close seconds and spare a read little.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator

import numpy as np

from firmware_bridge.frames import FrameBlock
from sensing.store import codec as store_codec
from sensing.store.codec import MAX_CHUNK_BYTES
from sensing.store.schema import insert

GATHER_SECONDS = 60.0  # host time one gathered chunk may span
SMALL_BYTES = 64 << 10  # chunks of fewer bytes of values than this are gathered


def _groups(conn: sqlite3.Connection, session_id: int) -> Iterator[list[int]]:
    """The ``first_index`` of each run of small chunks to gather (runs of two or more)."""
    rows = conn.execute(
        "SELECT first_index, t_first, t_last, dtype, count, shape_json FROM chunks "
        "WHERE session_id = ? ORDER BY first_index", (session_id,)).fetchall()
    run: list[int] = []
    start = 0.0
    kind: tuple[str, str] | None = None
    size = 0
    for first, t_first, t_last, dtype, count, shape in rows:
        values = count * np.dtype(dtype).itemsize * math.prod(json.loads(shape))
        small = values < SMALL_BYTES
        fits = (run and kind == (dtype, shape) and t_last - start <= GATHER_SECONDS
                and size + values <= MAX_CHUNK_BYTES)
        if small and fits:
            run.append(first)
            size += values
            continue
        if len(run) > 1:
            yield run
        run, start, kind, size = ([first], t_first, (dtype, shape), values) if small else (
            [], 0.0, None, 0)
    if len(run) > 1:
        yield run


def gather_chunks(conn: sqlite3.Connection, session_id: int) -> tuple[int, int]:
    """Gather the session's runs of small chunks; ``(chunks before, chunks after)``. ``conn``
    is in autocommit mode; each run is one transaction."""
    before = after = conn.execute("SELECT count(*) FROM chunks WHERE session_id = ?",
                                  (session_id,)).fetchone()[0]
    for run in list(_groups(conn, session_id)):
        marks = ", ".join("?" * len(run))
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                f"SELECT * FROM chunks WHERE session_id = ? AND first_index IN ({marks}) "
                "ORDER BY first_index", (session_id, *run)).fetchall()
            block = FrameBlock.concat([store_codec.decode_chunk(r) for r in rows])
            row = store_codec.encode_chunk(block)
            row.update(session_id=session_id, first_index=run[0],
                       t_first=min(r["t_first"] for r in rows),
                       t_last=max(r["t_last"] for r in rows))
            conn.execute(f"DELETE FROM chunks WHERE session_id = ? AND first_index IN ({marks})",
                         (session_id, *run))
            insert(conn, "chunks", row)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        after -= len(run) - 1
    return before, after
