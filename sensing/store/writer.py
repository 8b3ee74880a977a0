"""The recorder: a bridge listener that writes one session to the store through one writer thread.

Listener callbacks only put onto a queue and return, so a slow disk never stalls the wire. The
writer thread owns the SQLite write connection, batches frames, raw reads and events, and commits
at least every ``flush_interval`` seconds (sooner when a batch grows large). If a write fails
(disk full, file gone), what was committed stays, ``error`` says why, and everything not stored
from then on is counted in ``not_stored``: nothing is dropped silently.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.errors import StoreError
from firmware_bridge.frames import Counters, FrameBlock, Notice
from firmware_bridge.profiles import parse_stored_profile
from sensing.mat.derive import LoadedMean
from sensing.plainjson import dumps
from sensing.store import codec as store_codec
from sensing.store import owner as store_owner
from sensing.store.codec import EncodedFrames, RawReads, raw_len
from sensing.store.gather import gather_chunks
from sensing.store.listing import COUNTS
from sensing.store.schema import insert
from sensing.store.sessions import Store, check_event, utc_now
from sensing.vocabulary import FINAL_STATUSES

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 8 << 20  # commit early once this much frame and raw data waits
EVENT_REPLY_TIMEOUT = 10.0


@dataclass
class _Event:
    host_time: float
    kind: str
    text: str
    data: dict[str, Any]
    source: str
    reply: queue.SimpleQueue[int | None] | None = None


@dataclass
class _Close:
    status: str
    counters: dict[str, Any]
    reason: str


@dataclass
class _Written:
    frames: int = 0
    raw_bytes: int = 0
    event_ids: list[int] = field(default_factory=list)
    bad_frames: int = 0  # frames whose shape does not fit the session
    raw_rows: int = 0


@dataclass
class _History:
    reads: list[tuple[bytes, float]]
    skipped: int


@dataclass
class _Batch:
    frames: list[FrameBlock | EncodedFrames] = field(default_factory=list)  # in order
    raw: list[tuple[bytes, float] | RawReads] = field(default_factory=list)  # in order
    history: _History | None = None
    events: list[_Event] = field(default_factory=list)
    nbytes: int = 0

    def __bool__(self) -> bool:
        return bool(self.frames or self.raw or self.events or self.history)


class Recorder:
    """A bridge listener that records frames, raw bytes and notices into one stored session."""

    def __init__(self, store: Store, session_id: int, *, flush_interval: float = 0.5,
                 chunk_seconds: float = 1.0, batch_bytes: int = MAX_BATCH_BYTES,
                 checkpoint_pages: int | None = None) -> None:
        """``batch_bytes``: commit once this many bytes of frame values and raw data wait, if
        ``flush_interval`` has not passed yet. ``checkpoint_pages``: checkpoint the WAL every
        this many pages instead of SQLite's 1,000. An import writes tens of MB in a second:
        smaller commits and checkpoints overlap its decoding, the last ones its end waits for
        are short, and the WAL file is written over rather than grown (bench/importer.py)."""
        self.store = store
        self.session_id = session_id
        self.flush_interval = flush_interval
        self.chunk_seconds = chunk_seconds
        self.batch_bytes = batch_bytes
        self.frames_written = 0
        self.raw_bytes_written = 0
        self.events_written = 0
        self.last_commit_time: float | None = None  # time.monotonic() of the last commit
        # Bytes kept as the raw capture's prelude, and those the bridge no longer had.
        self.prelude: dict[str, int] = {}
        self.error: StoreError | None = None
        # What reached the recorder but is not in the store, by what it was.
        self.not_stored: dict[str, int] = {"frames": 0, "raw_bytes": 0, "events": 0}
        self._conn = store.write_connection()
        try:
            if checkpoint_pages is not None:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
            self._claim()
        except BaseException:
            self._conn.close()
            raise
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._batch = _Batch()
        self._thread = threading.Thread(target=self._run, name=f"sotlog-recorder-{session_id}",
                                        daemon=True)
        self._thread.start()

    def _claim(self) -> None:
        """Check the session is there and recording, and mark this process as its writer."""
        sid = self.session_id
        try:
            row = self._conn.execute(
                "SELECT t0_host, status, frame_shape_json, dtype, profile_toml, "
                "(SELECT coalesce(sum(count), 0) FROM chunks WHERE session_id = s.id) AS n, "
                "(SELECT coalesce(max(chunk_index) + 1, 0) FROM raw WHERE session_id = s.id) AS r,"
                " (SELECT coalesce(sum(nbytes), 0) FROM raw WHERE session_id = s.id "
                "AND prelude = 0) AS rb,"
                " (SELECT count(*) FROM events WHERE session_id = s.id) AS ne"
                " FROM sessions s WHERE id = ?", (sid,)).fetchone()
            if row is None:
                raise StoreError(f"no session {sid} in {self.store.path}")
            if row["status"] != "recording":
                raise StoreError(f"session {sid} is {row['status']}, not recording")
            owner = store_owner.current()
            self._conn.execute("UPDATE sessions SET pid = ?, hostname = ?, proc_token = ? "
                               "WHERE id = ?", (owner.pid, owner.hostname, owner.token, sid))
        except sqlite3.Error as err:
            raise StoreError(f"cannot record session {sid} in {self.store.path}: {err}") from err
        self.t0_host: float = row["t0_host"]
        self.frame_shape = tuple(json.loads(row["frame_shape_json"]))
        self._dtype: str | None = row["dtype"]
        self._next_index: int = row["n"]
        self._mean: LoadedMean | None = None  # a new mat session's mean frame: see _finish
        if len(self.frame_shape) == 2 and not row["n"]:
            matrix = parse_stored_profile(row["profile_toml"], f"session {sid}").matrix
            self._mean = None if matrix is None else LoadedMean(matrix)
        self._next_raw: int = row["r"]
        self._stored_before = {"frames": row["n"], "raw_bytes": row["rb"], "events": row["ne"]}

    # -- listener side: only queue and return ------------------------------------------------

    def _put(self, item: Any, frames: int = 0, raw_bytes: int = 0, events: int = 0) -> bool:
        with self._lock:
            if not self._closed:
                self._queue.put(item)
                return True
        self._add_not_stored(frames, raw_bytes, events)
        return False

    def on_raw(self, data: bytes, host_time: float) -> None:
        self._put(("raw", bytes(data), host_time), raw_bytes=len(data))

    def on_raw_reads(self, reads: RawReads) -> None:
        """Consecutive reads at once, encoded (an import's block, ``codec.raw_reads``): stored
        as a raw row of their own, read back as ``on_raw`` each would be."""
        self._put(reads, raw_bytes=reads.nbytes)

    def on_history(self, reads: list[tuple[bytes, float]], skipped: int) -> None:
        """The reads the device's decoder had before this session: kept as the raw capture's
        prelude, so the session decodes again exactly as it was decoded live (see reparse)."""
        if reads:
            self._put(_History(list(reads), skipped))

    def on_frames(self, block: FrameBlock | EncodedFrames) -> None:
        """Frames to store; or their chunk rows, encoded (an import's, ``codec.encoded_frames``)."""
        self._put(block, frames=len(block))

    def on_notice(self, notice: Notice) -> None:
        self._put(_Event(notice.host_time, notice.kind, notice.detail, dict(notice.data),
                         "device"), events=1)

    def queue_event(self, kind: str, text: str, data: dict[str, Any], host_time: float,
                    source: str) -> None:
        """Store an event without waiting for its id (from a listener on the bridge thread)."""
        check_event(kind, source)
        self._put(_Event(float(host_time), kind, text, dict(data), source), events=1)

    def add_event(self, kind: str, text: str = "", data: dict[str, Any] | None = None,
                  host_time: float | None = None, source: str = "person") -> int | None:
        """Store an event now; its id, or None if the recorder is closed or cannot write."""
        check_event(kind, source)
        reply: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        event = _Event(time.monotonic() if host_time is None else float(host_time), kind, text,
                       dict(data or {}), source, reply)
        if not self._put(event, events=1):
            return None
        try:
            return reply.get(timeout=EVENT_REPLY_TIMEOUT)
        except queue.Empty:
            return None

    def close(self, status: str = "complete",
              counters: Counters | dict[str, Any] | None = None, reason: str = "") -> None:
        """Write what is queued, then end the session with ``status``, the bridge counters and
        ``reason`` (why it ended, in a person's words)."""
        if status not in FINAL_STATUSES:
            raise StoreError(f"a session ends complete or interrupted, not {status!r}")
        counts = counters.as_dict() if isinstance(counters, Counters) else dict(counters or {})
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_Close(status, counts, reason))
        self._thread.join()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        closing: _Close | None = None
        next_flush = time.monotonic() + self.flush_interval
        try:
            while closing is None:
                try:
                    item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
                except queue.Empty:
                    item = None
                urgent = False
                while item is not None:
                    if isinstance(item, _Close):
                        closing = item
                        break
                    urgent = self._take(item) or urgent
                    if self._batch.nbytes >= self.batch_bytes or time.monotonic() >= next_flush:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        item = None
                now = time.monotonic()
                if urgent or closing or now >= next_flush or self._batch.nbytes >= self.batch_bytes:
                    self._flush()
                    next_flush = now + self.flush_interval
            self._finish(closing)
        finally:
            self._conn.close()

    def _take(self, item: Any) -> bool:
        """Add one queued item to the batch; True when it should be committed at once."""
        b = self._batch
        if isinstance(item, FrameBlock | EncodedFrames):
            if len(item):
                b.frames.append(item)
                b.nbytes += item.values.nbytes
                if self._mean is not None:
                    self._mean.add(item.values)
        elif isinstance(item, _Event):
            b.events.append(item)
            return item.reply is not None  # a person is waiting for the event's id
        elif isinstance(item, _History):
            b.history = item
        elif isinstance(item, RawReads):
            b.raw.append(item)
            b.nbytes += item.nbytes
        else:
            _, data, host_time = item
            b.raw.append((data, host_time))
            b.nbytes += len(data)
        return False

    def _flush(self) -> None:
        batch, self._batch = self._batch, _Batch()
        if self.error is not None:
            self._count_lost(batch)
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            written = self._write(batch)
            self._conn.execute("UPDATE sessions SET counters_json = ? WHERE id = ?",
                               (dumps(self._stored_counts(written)), self.session_id))
            self._conn.execute("COMMIT")
        except Exception as err:  # whatever stops the write, it is recorded, never swallowed
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self.error = StoreError(
                f"recording session {self.session_id} stopped writing to {self.store.path}: "
                f"{err}; what was saved before is kept")
            log.error("%s", self.error)
            self._count_lost(batch)
            return
        self.frames_written += written.frames
        self.raw_bytes_written += written.raw_bytes
        self.events_written += len(written.event_ids)
        self._add_not_stored(frames=written.bad_frames)
        self._next_index += written.frames
        self._next_raw += written.raw_rows
        self.last_commit_time = time.monotonic()
        for event, eid in zip(batch.events, written.event_ids, strict=False):
            if event.reply is not None:
                event.reply.put(eid)

    def _stored_counts(self, written: _Written) -> dict[str, Any]:
        """What the store holds for this session, for the counters column."""
        base = self._stored_before
        not_stored = dict(self.not_stored)
        not_stored["frames"] += written.bad_frames
        return {
            **self.prelude,
            "stored_frames": base["frames"] + self.frames_written + written.frames,
            "stored_raw_bytes": base["raw_bytes"] + self.raw_bytes_written + written.raw_bytes,
            "stored_events": base["events"] + self.events_written + len(written.event_ids),
            "not_stored": not_stored,
        }

    def _add_not_stored(self, frames: int = 0, raw_bytes: int = 0, events: int = 0) -> None:
        with self._lock:
            self.not_stored["frames"] += frames
            self.not_stored["raw_bytes"] += raw_bytes
            self.not_stored["events"] += events

    def _count_lost(self, batch: _Batch) -> None:
        self._add_not_stored(sum(map(len, batch.frames)),
                             sum(map(raw_len, batch.raw)), len(batch.events))
        for event in batch.events:
            if event.reply is not None:
                event.reply.put(None)

    def _write(self, batch: _Batch) -> _Written:
        """Insert one batch inside the open transaction."""
        events = list(batch.events)
        good = [b for b in batch.frames if b.frame_shape == self.frame_shape]
        n_bad = sum(map(len, batch.frames)) - sum(map(len, good))
        if n_bad:
            shapes = sorted({str(b.frame_shape) for b in batch.frames} - {str(self.frame_shape)})
            events.append(_Event(
                batch.frames[0].host_time[0], "warning",
                f"{n_bad} frames of shape {', '.join(shapes)} do not match the session's "
                f"{self.frame_shape} and were not stored as samples (their bytes are in the raw "
                "capture)", {"frames": n_bad, "shapes": shapes}, "sotlog"))
        frames = 0
        for row in store_codec.chunk_rows(good, self.chunk_seconds, self.t0_host):
            self._insert_chunk(row, self._next_index + frames)
            frames += row["count"]
        raw_bytes = 0
        index = self._next_raw
        if batch.history is not None:
            reads = batch.history.reads
            self.prelude = {"prelude_bytes": self._insert_raw(
                                store_codec.raw_reads(*store_codec.joined(reads)), index, 1),
                            "prelude_skipped_bytes": batch.history.skipped}
            index += 1
        singles: list[tuple[bytes, float]] = []
        for item in [*batch.raw, None]:  # reads one by one share a row, a block has its own
            if isinstance(item, tuple):
                singles.append(item)
                continue
            if singles:
                raw_bytes += self._insert_raw(
                    store_codec.raw_reads(*store_codec.joined(singles)), index, 0)
                index, singles = index + 1, []
            if item is not None:
                raw_bytes += self._insert_raw(item, index, 0)
                index += 1
        now = utc_now()
        ids = [insert(self._conn, "events", {
            "session_id": self.session_id, "host_time": e.host_time, "kind": e.kind,
            "text": e.text, "data_json": dumps(e.data), "created_utc": now, "source": e.source})
            for e in events]
        return _Written(frames, raw_bytes, ids, n_bad, index - self._next_raw)

    def _insert_raw(self, reads: RawReads, index: int, prelude: int) -> int:
        row = dict(reads.row, session_id=self.session_id, chunk_index=index, prelude=prelude,
                   t_first=reads.first - self.t0_host, t_last=reads.last - self.t0_host)
        insert(self._conn, "raw", row)
        return reads.nbytes

    def _insert_chunk(self, row: dict[str, Any], first_index: int) -> None:
        """Insert one encoded chunk (``codec.encode_chunk`` with its times) at ``first_index``."""
        insert(self._conn, "chunks", dict(row, session_id=self.session_id,
                                          first_index=first_index))
        if self._dtype is None:
            self._dtype = row["dtype"]
            self._conn.execute("UPDATE sessions SET dtype = ? WHERE id = ?",
                               (self._dtype, self.session_id))

    def _finish(self, closing: _Close) -> None:
        status, reason = closing.status, closing.reason
        if self.error is not None:
            status, reason = "interrupted", f"{reason}; {self.error}" if reason else str(self.error)
        counts = {**self._stored_counts(_Written()), **closing.counters}
        if self.error is None:
            try:  # fewer, larger chunks to read back: the same frames (gather.py)
                gather_chunks(self._conn, self.session_id)
            except sqlite3.Error as err:  # the chunks stay as they were written
                log.warning("session %s: its chunks were not gathered: %s", self.session_id, err)
        try:  # what a list shows of its samples, so a list never reads them
            n, last = self._conn.execute(COUNTS, (self.session_id,)).fetchone()
        except sqlite3.Error:  # left to the first list, which says what it cannot read
            n = last = None
        try:
            self._conn.execute(
                "UPDATE sessions SET status = ?, ended_utc = ?, counters_json = ?, end_reason = ?, "
                "frame_count = ?, duration_s = ? WHERE id = ?",
                (status, utc_now(), dumps(counts), reason, n, last, self.session_id))
        except sqlite3.Error as err:
            if self.error is None:
                self.error = StoreError(
                    f"session {self.session_id}: cannot write its end to {self.store.path}: {err}")
            log.error("%s", self.error)
        # A mat's regions, sums and measures, read once (the mean is summed already); if they
        # cannot be, the first read derives them.
        if self.error is None and len(self.frame_shape) == 2 and not self.store.derive(
                self.session_id, self._mean):
            log.warning("session %s: its mat data was not derived: %s", self.session_id,
                        self.store.derived_not_kept)
