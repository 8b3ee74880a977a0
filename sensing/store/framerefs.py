"""The stored frames' host times, which a gathered raw row's arrival times refer to.

A read's arrival is the host time of the frames it completed (``firmware_bridge.bridge``), so
once a session is closed its raw rows keep most arrivals as references to those frames
(``packing.pack_refs``): each time is stored once. These read the frames' host times back, a
range of frames or a span of session time at a time, without their values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np

from sensing.store import codec
from sensing.store.packing import FrameTimes

Query = Callable[[str, tuple[Any, ...]], list[sqlite3.Row]]
HOST = "SELECT first_index, count, codecs, host_time FROM chunks WHERE session_id = ? AND "


def _host_times(rows: list[sqlite3.Row]) -> list[np.ndarray]:
    return [codec.decode(codec.column_codecs(r, codec.COLUMNS)["host_time"], r["host_time"],
                         "<f8", (int(r["count"]),)) for r in rows]


def frame_times(query: Query, session_id: int) -> FrameTimes:
    """Host times of the session's frames ``lo`` to ``hi - 1``; ValueError if some are not
    stored."""
    def times(lo: int, hi: int) -> np.ndarray:
        rows = query(HOST + "first_index < ? AND first_index + count > ? ORDER BY first_index",
                     (session_id, hi, lo))
        first = int(rows[0]["first_index"]) if rows else lo
        host = np.concatenate(_host_times(rows)) if rows else np.empty(0)
        if first > lo or first + len(host) < hi:
            raise ValueError(f"frames {lo}-{hi - 1} of session {session_id}, whose host times "
                             "the raw capture's arrival times are, are not all stored")
        return host[lo - first:hi - first]
    return times


def frames_between(conn: sqlite3.Connection, session_id: int, t_first: float,
                   t_last: float) -> codec.Frames:
    """``(index, host_time)`` of the frames in the chunks that overlap session times
    ``t_first`` to ``t_last``."""
    rows = conn.execute(HOST + "t_last >= ? AND t_first <= ? ORDER BY first_index",
                        (session_id, t_first, t_last)).fetchall()
    if not rows:
        return np.empty(0, np.int64), np.empty(0)
    index = np.concatenate([int(r["first_index"]) + np.arange(int(r["count"])) for r in rows])
    return index, np.concatenate(_host_times(rows))


def session_query(conn: sqlite3.Connection) -> Query:
    return lambda sql, args: conn.execute(sql, args).fetchall()
