"""The read side of one stored session: its header, frames, force samples, events and raw bytes.

A Session has its own read-only connection, so reading never blocks the recorder's writer.
Times are session seconds: host monotonic time minus the session's ``t0_host``.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.errors import NotFound, ProfileError, StoreError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import parse_stored_profile
from sensing.calibration.conversion import Conversion
from sensing.mat.derive import LoadedMean, MatDerived, derive
from sensing.store import codec as store_codec
from sensing.store.derived import HEADER, is_current, read_derived, regions_of
from sensing.store.edits import EVENTS, describe, events_changed_since, meta_of
from sensing.store.framerefs import frame_times
from sensing.store.matread import mat_samples, session_matrix
from sensing.store.records import Edit, Event, Samples, SessionInfo
from sensing.store.schema import connect, damaged
from sensing.store.url import StoreURL

# Every session column, plus the frame count and the time of the last frame, from the indexes.
INFO_SELECT = """SELECT s.*,
    (SELECT coalesce(sum(count), 0) FROM chunks c WHERE c.session_id = s.id) AS n_frames,
    (SELECT max(t_last) FROM chunks c WHERE c.session_id = s.id) AS t_last_max
    FROM sessions s"""
# The chunks that hold frames of a session with lo <= time_s < hi, in frame order.
CHUNKS_OVERLAPPING = ("FROM chunks WHERE session_id = ? AND t_first < ? AND t_last >= ? "
                      "ORDER BY first_index")
# A chunk's columns but its values
NO_VALUES = f"SELECT first_index, count, dtype, codecs, {', '.join(store_codec.COLUMNS)} "
# A read window's frames as float64: 455 frames of a 48x48 mat (measured in docs/store.md).
WINDOW_BYTES = 8 << 20


def window_frames(frame_shape: tuple[int, ...]) -> int:
    """How many frames of ``frame_shape`` one read window holds: ``WINDOW_BYTES`` as float64."""
    return max(1, WINDOW_BYTES // (8 * math.prod(frame_shape)))


def _bounds(t0: float | None, t1: float | None) -> tuple[float, float]:
    return -np.inf if t0 is None else float(t0), np.inf if t1 is None else float(t1)


def info_from_row(row: sqlite3.Row, path: object = None) -> SessionInfo:
    """A SessionInfo from a row of ``INFO_SELECT`` (``path``: the store's, for the one line
    when its stored profile cannot be read, which a damaged file is one reason for)."""
    sid = row["id"]
    try:
        origin = row["profile_path"] or f"session {sid} profile"
        profile = parse_stored_profile(row["profile_toml"], origin)
    except ProfileError as err:
        if path is None:
            raise StoreError(f"session {sid}: its stored profile cannot be read: {err}") from err
        raise StoreError(
            f"session {sid}: its stored profile cannot be read ({err}); if {path} is damaged, "
            f"`sotlog check` says what can still be read, and `sqlite3 {path} .recover > "
            "saved.sql` may save the rest") from err
    meta = meta_of(row)
    return SessionInfo(
        id=sid, uuid=row["uuid"], meta=meta, profile=profile, profile_name=row["profile_name"],
        port=row["port"], device=row["device"], software_version=row["software_version"],
        format_version=row["format_version"], started_utc=row["started_utc"],
        ended_utc=row["ended_utc"], t0_host=row["t0_host"], status=row["status"],
        counters=json.loads(row["counters_json"]), conversion=json.loads(row["conversion_json"]),
        frame_shape=tuple(json.loads(row["frame_shape_json"])),
        channel_names=json.loads(row["channel_names_json"]), n_frames=int(row["n_frames"]),
        duration_s=float(row["t_last_max"] or 0.0), dtype=row["dtype"],
        end_reason=row["end_reason"], face=row["face"],
        station=row["station"] if "station" in row.keys() else None,  # noqa: SIM118
    )


# Keeps a mat session's derived data in the store (``Store.keep_derived``).
Keeper = Callable[[SessionInfo, MatDerived], None]


class Session:
    """One stored session, read through its own connection.

    ``keep``: how a mat session's derived data, when it had none yet, is kept in the store
    (None: a store that can only be read derives it on every open).
    """

    def __init__(self, path: Path | StoreURL, session_id: int, immutable: bool = False,
                 keep: Keeper | None = None,
                 connection: Callable[[], sqlite3.Connection] | None = None) -> None:
        self.path = path if isinstance(path, StoreURL) else Path(path)
        self.id = session_id
        # ``connection``: how the store opens one (a shared store's takes the same statements)
        if connection is not None:
            self._conn = connection()
        else:
            assert isinstance(self.path, Path)
            self._conn = connect(self.path, readonly=True, immutable=immutable)
        self._lock = threading.Lock()
        self.info = self._load_info()
        self._keep = keep
        self._derived: tuple[tuple[str, int], MatDerived] | None = None  # mat_derived()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as err:
            raise StoreError(f"cannot read session {self.id} from {self.path}: {err}") from err
        except sqlite3.DatabaseError as err:
            raise damaged(self.path, err, f"session {self.id}") from err

    def _load_info(self) -> SessionInfo:
        try:
            rows = self._query(INFO_SELECT + " WHERE s.id = ?", (self.id,))
        except StoreError as err:
            if not isinstance(err.__cause__, sqlite3.DatabaseError) or isinstance(
                    err.__cause__, sqlite3.OperationalError):
                raise
            # The samples' index is damaged: the header still reads, without the counts.
            rows = self._query("SELECT s.*, 0 AS n_frames, NULL AS t_last_max FROM sessions s "
                               "WHERE s.id = ?", (self.id,))
            if rows:
                info = info_from_row(rows[0], self.path)
                info.damaged = f"its samples cannot be counted ({err.__cause__}); see " \
                               "`sotlog check`"
                return info
        if not rows:
            raise NotFound(f"no session {self.id} in {self.path}")
        return info_from_row(rows[0], self.path)

    def refresh(self) -> SessionInfo:
        """Re-read the header (status, counts and edits change while a session records)."""
        self.info = self._load_info()
        return self.info

    def frames(self, t0: float | None = None, t1: float | None = None) -> FrameBlock:
        """Stored frames with ``t0 <= time_s < t1`` (either bound may be None), raw as sent.

        All of them in memory at once: a long mat session is read by ``frame_windows``.
        """
        lo, hi = _bounds(t0, t1)
        return self._decode(self._query("SELECT * " + CHUNKS_OVERLAPPING, (self.id, hi, lo)),
                            lo, hi)

    def frame_columns(self, t0: float | None = None, t1: float | None = None) -> FrameBlock:
        """``frames(t0, t1)`` without their values (``values`` has shape ``(n, 0)``): the host
        and device times, sequence numbers and flags of every frame, which a long mat session
        holds in little memory (its values are read by ``frame_windows``)."""
        lo, hi = _bounds(t0, t1)
        rows = self._query(NO_VALUES + CHUNKS_OVERLAPPING, (self.id, hi, lo))
        return self._decode(rows, lo, hi, values=False)

    def frame_windows(self, t0: float | None = None,
                      t1: float | None = None) -> Iterator[FrameBlock]:
        """The frames of ``frames(t0, t1)``, in order, as blocks of ``window_frames`` frames
        (the last may hold fewer), decoding one stored chunk at a time.

        However long the session, memory holds one window and one chunk; a window may end
        inside a chunk, whose rest begins the next window.
        """
        lo, hi = _bounds(t0, t1)
        size = window_frames(self.info.frame_shape)
        firsts = self._query("SELECT first_index " + CHUNKS_OVERLAPPING, (self.id, hi, lo))
        held: list[FrameBlock] = []
        count = 0
        for (first,) in firsts:
            rows = self._query("SELECT * FROM chunks WHERE session_id = ? AND first_index = ?",
                               (self.id, first))
            held.append(self._decode(rows, lo, hi))
            count += len(held[-1])
            while count >= size:
                joined = FrameBlock.concat(held)
                yield joined.take(slice(0, size))
                held, count = [joined.take(slice(size, None))], count - size
        if count:
            yield FrameBlock.concat(held)

    def _decode(self, rows: list[sqlite3.Row], lo: float, hi: float,
                values: bool = True) -> FrameBlock:
        """The frames of these chunk rows, in order, with ``lo <= time_s < hi`` (without their
        values: see ``frame_columns``)."""
        if not rows:
            return FrameBlock.empty(self.info.frame_shape if values else (0,),
                                    self.info.dtype or np.float64)
        try:
            block = FrameBlock.concat([store_codec.decode_chunk(r, values) for r in rows])
        except (ValueError, TypeError, KeyError, zlib.error) as err:
            raise damaged(self.path, err, f"a stored chunk of session {self.id}") from err
        if lo == -np.inf and hi == np.inf:  # unbounded: every frame, even one with no time
            return block
        t = block.host_time - self.info.t0_host
        keep = (t >= lo) & (t < hi)
        return block if keep.all() else block.take(keep)

    def samples(self, units: str = "N", t0: float | None = None,
                t1: float | None = None) -> Samples:
        """Force (or the channel's own unit) per channel; for a mat, per block region or total."""
        if self.info.is_matrix:
            return mat_samples(self, units, t0, t1)
        block = self.frames(t0, t1)
        conv = Conversion.from_profile(self.info.profile, self.info.conversion, self.info.t0_host)
        values, unit_list = conv.apply(block.values, units, block.host_time)
        return Samples(block.host_time - self.info.t0_host, block.device_time, conv.names, values,
                       unit_list)

    def mat_regions(self) -> list[Any]:
        """A mat session's block regions (``sensing.mat.Region``), the same for every window.

        Those a person kept with the session, else found once on the mean of all its frames
        (read from its derived data: see ``mat_derived``).
        """
        if not self._derived_cached():  # the regions alone, without the per-frame data
            rows = self._query(HEADER, (self.id,))
            if rows and is_current(rows[0], self.info):
                return regions_of(rows[0])[0]
        return list(self.mat_derived().regions)

    def derived_kept(self) -> bool:
        """Whether the store holds this mat session's derived data as the session is now."""
        rows = self._query(HEADER, (self.id,))
        return bool(rows) and is_current(rows[0], self.info)

    def mat_derived(self, mean: LoadedMean | None = None) -> MatDerived:
        """A mat session's regions, block sums and per-frame measures (``sensing.mat.derive``).

        Read from the store, where they were kept when the session closed; a session without
        them (an older sotlog's, or after an edit) has them derived now, and kept once it has
        ended. A session still recording is derived anew as its frames grow. ``mean``: the
        mean frame its recorder summed, used when it holds every stored frame.
        """
        if self._derived is not None and self._derived_cached():
            return self._derived[1]
        found = read_derived(self._query, self.info)
        if found is None:
            whole = mean if mean is not None and mean.count == self.info.n_frames else None
            found = derive(session_matrix(self), self.info.conversion, self.frame_windows, whole)
            if self._keep is not None and self.info.status != "recording":
                self._keep(self.info, found)
        self._derived = (self._derived_key(), found)
        return found

    def _derived_key(self) -> tuple[str, int]:
        return json.dumps(self.info.conversion, sort_keys=True), self.info.n_frames

    def _derived_cached(self) -> bool:
        return self._derived is not None and self._derived[0] == self._derived_key()

    def events(self) -> list[Event]:
        """Every event of the session, in time order."""
        t0 = self.info.t0_host
        return [
            Event(r["id"], r["session_id"], r["host_time"] - t0, r["host_time"], r["kind"],
                  r["text"], json.loads(r["data_json"]), r["source"], r["created_utc"])
            for r in self._query(
                "SELECT * FROM events WHERE session_id = ? ORDER BY host_time, id", (self.id,))
        ]

    def raw(self, prelude: bool = False) -> Iterator[tuple[float, bytes]]:
        """Each read from the wire as ``(host_time, bytes)``, in arrival order.

        ``prelude``: the reads the device's decoder had before the session began instead (the
        context ``sotlog reparse`` decodes first; see docs/store.md).
        """
        for data, starts, arrival in self.raw_blocks(prelude):
            ends = [*starts[1:].tolist(), len(data)]
            yield from zip(arrival.tolist(),
                           (data[a:b] for a, b in zip(starts.tolist(), ends, strict=True)),
                           strict=True)

    def raw_blocks(self, prelude: bool = False) -> Iterator[tuple[bytes, np.ndarray, np.ndarray]]:
        """The reads of ``raw`` a stored row at a time, joined: ``(data, starts, arrival)``,
        read ``i`` being ``data[starts[i]:starts[i + 1]]`` (what ``Decoder.feed_reads`` takes)."""
        rows = self._query("SELECT chunk_index FROM raw WHERE session_id = ? AND prelude = ? "
                           "ORDER BY chunk_index", (self.id, int(prelude)))
        for (index,) in rows:  # one chunk in memory at a time
            (r,) = self._query("SELECT * FROM raw WHERE session_id = ? AND chunk_index = ?",
                               (self.id, index))
            try:
                got = store_codec.decode_raw_reads(r, frame_times(self._query, self.id))
            except (ValueError, TypeError, KeyError, zlib.error) as err:
                raise damaged(self.path, err, f"the raw capture of session {self.id}") from err
            yield got

    def edits(self) -> list[Edit]:
        """Every change to the metadata or conversion, oldest first."""
        rows = self._query("SELECT e.*, (SELECT u.id FROM session_edits u WHERE u.undoes = e.id) "
                           "AS undone_by FROM session_edits e WHERE session_id = ? ORDER BY id",
                           (self.id,))
        edits = [Edit(r["id"], r["session_id"], r["at_utc"], r["field"],
                      json.loads(r["old_json"]), json.loads(r["new_json"]), r["reason"],
                      r["undoes"], r["undone_by"]) for r in rows]
        newest: dict[str, int] = {}
        for e in edits:
            e.text = describe(e.field, e.old, e.new, e.undoes)
            newest[e.field] = e.id
        for e in edits:  # as sensing.store.edits.undo judges it
            if e.undone_by is not None:
                e.undoable, e.not_undoable_because = False, f"undone by edit {e.undone_by}"
            elif e.field == EVENTS:
                with self._lock:
                    e.not_undoable_because = events_changed_since(self._conn, self.id, e.new)
                e.undoable = not e.not_undoable_because
            elif newest[e.field] != e.id:
                e.undoable = False
                e.not_undoable_because = (f"edit {newest[e.field]} changed {e.field} since: "
                                          "undo that one first")
        return edits

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


