"""Import a saved file (a device log, a capture) as a session, through the same decoders.

The file's bytes become the session's raw capture, cut into reads the way a port would deliver
them (a line each for text protocols, about a frame each for binary ones), so ``sotlog reparse``
decodes the very same reads again. A file has no arrival times; each read gets a synthetic one:

* ``device_time``: when the decoded frames carry the device's clock, a read arrives at the device
  time of the last frame it completes (relative to the first frame), never going backwards;
* ``uniform``: otherwise frame k arrives at ``k / rate`` (the profile's nominal rate, or given).

Which one was used is written into the session's device description. The file is read and
decoded in blocks of reads (``Decoder.feed_reads``), never whole, and what waits for the writer
is bounded, so a file of any size imports fast and in bounded memory (docs/import.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.errors import ProfileError, SotlogError, StoreError
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import Profile
from firmware_bridge.protocols import Decoded, Decoder, make_decoder, read_size
from firmware_bridge.protocols._text import crlf_only
from sensing.metadata import SessionMeta
from sensing.store import codec as store_codec
from sensing.store import heap, packing
from sensing.store.arrival import ArrivalClock, NoticeGate
from sensing.store.codec import MAX_CHUNK_BYTES
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

BLOCK_BYTES = 1 << 20  # read from the file and decoded at a time (the fastest of 256 KiB-4 MiB)
PROBE_BYTES = 4 << 20  # read ahead, at most, to learn whether frames carry device time
PROBE_STEP = 64 << 10
LONG_READ = 1 << 20  # a line this long without an end goes to the decoder as a read of its own
# Handed to the recorder but not yet committed, at most: raw bytes, and frames (as the bytes of
# their values), so memory stays bounded whatever the file's size or the frames' shape.
BACKLOG_BYTES = 16 << 20
PROGRESS_BYTES = 16 << 20
# An imported session's chunks hold 10 minutes of frames (at most 4 MB of values), not a live
# one's 1 s or a closed one's 60 s: a 2-hour load-cell log is then 12 chunks to encode and
# write, not 120 (0.06 s of 0.3), and a window of `show`, an export or the replay still reads
# only the chunks it overlaps (docs/store.md).
CHUNK_SECONDS = 600.0
# Its writer commits every 2 MB and checkpoints the WAL every 1 MB (the recorder's defaults:
# 8 MB, SQLite's 4 MB): the writes then overlap the decoding, and the last ones the end of the
# file waits for are short (bench/importer.py).
BATCH_BYTES = 2 << 20
CHECKPOINT_PAGES = 256
POOL_THREADS = 2  # encoding reads and frames beside the decoding (zstd and numpy let go of the GIL)
POOL_AHEAD = 4  # blocks of reads and chunks of frames waiting to be encoded, at most
RECENT_READS = 4096  # arrival times kept for frames and notices a decoder held back


def read_starts(block: bytes, size: int | None, end: bool) -> tuple[np.ndarray, int]:
    """``(starts, whole)``: where each whole read in ``block`` starts, as a port hands them
    over (a line each for text protocols, its end a LF, CRLF or lone CR kept with it; ``size``
    bytes each for binary ones), and where the last one ends. The rest is for the next block,
    unless ``end`` or it is LONG_READ bytes or more (a line no port would hand over whole, the
    decoder counts it as overlong): then it is one last read."""
    if size is not None:
        whole = len(block) - len(block) % size
        starts = np.arange(0, whole, size, dtype=np.int64)
    else:
        a = np.frombuffer(block, np.uint8)
        ends = np.flatnonzero(a == 10) + 1
        if b"\r" in block and not crlf_only(a, ends):
            cr = np.flatnonzero(a == 13)
            # a lone CR ends a read too; one ending the block may be a CRLF's, torn
            lone = cr[a[np.minimum(cr + 1, len(a) - 1)] != 10]
            lone = lone[lone + 1 < len(a)]
            if len(lone):
                ends = np.sort(np.concatenate((ends, lone + 1)))
        whole = int(ends[-1]) if len(ends) else 0
        starts = np.concatenate(([0], ends[:-1])).astype(np.int64) if len(ends) else ends
    if whole < len(block) and (end or len(block) - whole >= LONG_READ):
        starts, whole = np.append(starts, whole).astype(np.int64), len(block)
    return starts, whole


Block = tuple[bytes, np.ndarray]  # a block of whole reads, and where each starts


def blocks(path: Path, size: int | None) -> Iterator[Block]:
    """The file as blocks of whole reads: ``(bytes, where each read starts)``."""
    carry = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(BLOCK_BYTES)
            data = carry + chunk if carry else chunk
            starts, whole = read_starts(data, size, end=not chunk)
            if whole:
                yield (data if whole == len(data) else data[:whole]), starts
            carry = data[whole:]
            if not chunk:
                return


def _raw_row(data: bytes, starts: np.ndarray, times: np.ndarray,
             packed: Future[tuple[str, bytes]]) -> store_codec.RawReads:
    """A block's raw row, its bytes packed already (``packed``: codec and blob, begun with its
    decoding). Waiting on ``packed`` in the pool is safe: it was submitted before this task,
    so a worker took it first."""
    codec, blob = packed.result()
    return store_codec.raw_reads(data, starts, times, codec, blob)


@dataclass
class ImportResult:
    """What an import stored."""

    session_id: int
    path: str
    bytes: int
    reads: int
    frames: int
    timing: str
    rate_hz: float
    counters: dict[str, int] = field(default_factory=dict)
    unfinished_bytes: int = 0  # bytes at the end completing no frame (kept in the raw capture)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def probe_timing(path: Path, profile: Profile, rate_hz: float | None) -> tuple[str, float]:
    """``(mode, rate)``: device time when the first frames carry it, else uniform at ``rate``.

    The file's head is decoded until frames come out, up to PROBE_BYTES of it."""
    decoder = make_decoder(profile)
    clocked = False
    with open(path, "rb") as fh:
        for _ in range(PROBE_BYTES // PROBE_STEP):
            out = decoder.feed(fh.read(PROBE_STEP), 0.0)
            if out.frames is not None and len(out.frames):
                clocked = bool(np.isfinite(out.frames.device_time).any())
                break
    rate = rate_hz or profile.nominal_rate_hz
    if clocked:
        return "device_time", float(rate or 1.0)
    if rate is None:
        raise ProfileError(f"{path.name}: its frames carry no device time and profile "
                           f"{profile.name!r} has no nominal_rate_hz; give the rate (--rate)")
    return "uniform", float(rate)


def describe(path: Path, size: int, mode: str, rate: float) -> str:
    """The device description of an imported session: the file, and how times were made."""
    how = ("arrival times synthetic, from the device time column" if mode == "device_time"
           else f"arrival times synthetic, uniform at {rate:g} frames/s (no device time)")
    return f"imported file {path.name} ({size} bytes); {how}"


def import_file(store: Store, path: str | Path, profile: Profile, meta: SessionMeta, *,
                rate_hz: float | None = None, started_utc: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Decode ``path`` with ``profile`` into a new session of ``store``; its bytes are the raw."""
    src = Path(path)
    try:
        size = src.stat().st_size
    except OSError as err:
        raise SotlogError(f"cannot read {src}: {err.strerror}") from err
    if not src.is_file():
        raise SotlogError(f"{src} is not a file")
    heap.keep_freed_memory()
    mode, rate = probe_timing(src, profile, rate_hz)
    sid = store.create_session(meta, profile, port=src.resolve().as_uri(),
                               device=describe(src, size, mode, rate), t0_host=0.0, face="import",
                               started_utc=started_utc)
    recorder = Recorder(store, sid, chunk_seconds=CHUNK_SECONDS, batch_bytes=BATCH_BYTES,
                        checkpoint_pages=CHECKPOINT_PAGES)
    try:
        result = _feed(src, profile, recorder, ArrivalClock(mode, rate), progress, size)
    except BaseException:
        recorder.close(status="interrupted")
        raise
    result.session_id = sid
    _log_times(store, sid, src, started_utc)
    return result


def _log_times(store: Store, sid: int, src: Path, started_utc: str | None) -> None:
    """The imported session's start and end from the log itself, not the time of the import:
    the end is the start plus the time of the last frame, and with no ``started_utc`` given the
    log ends when the file was last written (its modification time)."""
    length = store.session(sid).info.duration_s
    if started_utc:
        start = datetime.fromisoformat(started_utc)
    else:
        start = datetime.fromtimestamp(src.stat().st_mtime, UTC) - timedelta(seconds=length)
    end = start + timedelta(seconds=length)
    with store._transaction() as conn:  # the one write an import makes after its recorder
        conn.execute("UPDATE sessions SET started_utc = ?, ended_utc = ? WHERE id = ?",
                     (start.astimezone(UTC).isoformat(timespec="milliseconds"),
                      end.astimezone(UTC).isoformat(timespec="milliseconds"), sid))


class _Recent:
    """Arrival times of the latest reads, by read number: for frames and notices a decoder held
    back and gave out in a later block (a first line or two waiting to be judged)."""

    def __init__(self) -> None:
        self.end = 0  # reads so far
        self.times = np.zeros(0)

    def add(self, times: np.ndarray) -> None:
        self.times = times if len(times) >= RECENT_READS else np.concatenate(
            (self.times, times))[-RECENT_READS:]
        self.end += len(times)

    def of(self, reads: np.ndarray, block_start: int, block_times: np.ndarray) -> np.ndarray:
        """The arrival of each read numbered in ``reads``: of this block (from ``block_start``,
        its times so far) or of one before it."""
        here = reads - block_start
        if not len(self.times) or (here >= 0).all():
            return block_times[here]
        older = self.times[np.maximum(reads - (self.end - len(self.times)), 0)]
        return np.where(here >= 0, block_times[np.maximum(here, 0)] if len(block_times)
                        else 0.0, older)


Encoded = store_codec.RawReads | store_codec.EncodedFrames


@dataclass
class _Import:
    """One import under way: the decoder, the clock, and what went to the recorder."""

    recorder: Recorder
    decoder: Decoder
    clock: ArrivalClock
    gate: NoticeGate
    pool: ThreadPoolExecutor  # encodes reads and frames while the next block decodes
    pending: deque[Future[Encoded]] = field(default_factory=deque)  # in order
    chunk: list[FrameBlock] = field(default_factory=list)  # frames for the next chunk row
    recent: _Recent = field(default_factory=_Recent)
    reads: int = 0
    raw_bytes: int = 0
    frames: int = 0
    frame_bytes: int = 0  # of one frame's values
    settled: bool = False  # frames came and none wait: reads go in bulk from now on

    def block(self, data: bytes, starts: np.ndarray) -> float:
        """Decode, time and hand over one block of reads; the arrival of its last read.

        Until the first frames are out and no line waits, read by read (a decoder may hold a
        first line back and give it out with a later one, and the read that does so is the one
        the clock counts it at), then the rest in bulk: every frame then comes out in the read
        of its last byte, so the reads' times follow from the frames' read numbers at once.
        """
        # a raw row's bytes need nothing of the decoding: packed beside it from the start, the
        # fastest way at hand (the raw capture is written once)
        packed = self.pool.submit(packing.pack_raw, data)
        n, first = len(starts), self.reads
        times = np.zeros(n)
        got: list[FrameBlock] = []
        i = 0
        while i < n and not self.settled:
            end = int(starts[i + 1]) if i + 1 < n else len(data)
            out = self.decoder.feed(data[starts[i]:end], float(first + i))
            device = out.frames.device_time if out.frames is not None else np.empty(0)
            times[i] = self.clock.advance(device)
            for _, notice in self._timed(out, first, times, got):
                self.gate.add(notice)
            self.gate.tick(float(times[i]))
            self.settled = self.clock.frames > 0 and self.decoder.counters.held_lines == 0
            i += 1
        if i < n:
            out = self.decoder.feed_reads(data[starts[i]:] if i else data, starts[i:] - starts[i],
                                          np.arange(first + i, first + n, dtype=np.float64))
            f = out.frames
            # a frame a decoder held from before this block is counted at the block's first read
            at = (np.maximum(f.host_time.astype(np.int64) - first - i, 0) if f is not None
                  else np.zeros(0, np.int64))
            times[i:] = self.clock.arrivals(at, f.device_time if f is not None else np.empty(0),
                                            n - i)
            notices = self._timed(out, first, times, got)
            self.gate.replay([(max(0, r - i), x) for r, x in notices], times[i:])
        if got:
            block = FrameBlock.concat(got)
            self.frames += len(block)
            self.frame_bytes = max(self.frame_bytes, block.values[0].nbytes)
            self.add_frames(block)
        self.pending.append(self.pool.submit(_raw_row, data, starts, times, packed))
        self.hand(wait=False)
        self.recent.add(times)
        self.reads += n
        self.raw_bytes += len(data)
        return float(times[-1])

    def _timed(self, out: Decoded, first: int, times: np.ndarray,
               got: list[FrameBlock]) -> list[tuple[int, Notice]]:
        """Give ``out``'s frames and notices, stamped with read numbers, their reads' arrival
        times; the frames join ``got``, the notices come back with their read in this block."""
        if out.frames is not None and len(out.frames):
            out.frames.host_time = self.recent.of(out.frames.host_time.astype(np.int64), first,
                                                  times)
            got.append(out.frames)
        timed = []
        for notice in out.notices:
            r = int(notice.host_time)
            when = float(self.recent.of(np.array([r]), first, times)[0])
            timed.append((r - first, replace(notice, host_time=when)))
        return timed

    def add_frames(self, block: FrameBlock) -> None:
        """Gather frames into chunk rows of CHUNK_SECONDS (or MAX_CHUNK_BYTES of values), each
        encoded in the pool as soon as it is whole."""
        if block.frame_shape != self.recorder.frame_shape:
            self.recorder.on_frames(block)  # not stored as samples: the writer says so
            return
        if self.chunk and self.chunk[0].values.dtype != block.values.dtype:
            self.send_chunk()
        self.chunk.append(block)
        while self.cut_chunk():
            pass

    def cut_chunk(self) -> bool:
        """Send the first chunk of the frames gathered once they go past it, copying only its
        frames (a block holds many chunks); False while they do not."""
        end = self.chunk[0].host_time[0] + CHUNK_SECONDS
        most = max(1, MAX_CHUNK_BYTES // max(1, self.chunk[0].values[0].nbytes))
        n = 0
        for k, b in enumerate(self.chunk):
            at = min(int(np.searchsorted(b.host_time, end)), most - n)
            if at < len(b):
                head = [*self.chunk[:k], b.take(slice(0, at))] if at else self.chunk[:k]
                self.chunk = [b.take(slice(at, None)), *self.chunk[k + 1:]]
                self.submit_frames(FrameBlock.concat(head))
                return True
            n += len(b)
        return False

    def send_chunk(self) -> None:
        """Encode the frames gathered so far, whole chunk or not (a new dtype, the end)."""
        if self.chunk:
            self.submit_frames(FrameBlock.concat(self.chunk))
            self.chunk = []

    def submit_frames(self, frames: FrameBlock) -> None:
        self.pending.append(self.pool.submit(store_codec.encoded_frames, frames, CHUNK_SECONDS,
                                             self.recorder.t0_host))

    def hand(self, wait: bool) -> None:
        """Hand the recorder what the pool encoded, in order: what is done, or (``wait``) all;
        and, so that memory stays bounded, all but POOL_AHEAD items, done or not."""
        while self.pending and (wait or self.pending[0].done()
                                or len(self.pending) > POOL_AHEAD):
            item = self.pending.popleft().result()
            if isinstance(item, store_codec.RawReads):
                self.recorder.on_raw_reads(item)
            else:
                self.recorder.on_frames(item)

    def end(self, now: float) -> None:
        """The file's end is a cut: what the decoder holds is counted, nothing more decoded."""
        out = self.decoder.flush(float(max(self.reads - 1, 0)), cut=True)
        for _, notice in self._timed(out, self.reads, np.full(1, now), []):
            self.gate.add(notice)
        self.gate.tick(now, force=True)

    def behind(self) -> bool:
        """More than BACKLOG_BYTES of raw bytes or of frame values wait to be committed."""
        r = self.recorder
        frames = self.frames - r.frames_written - r.not_stored["frames"]
        return frames * self.frame_bytes > BACKLOG_BYTES or (
            self.raw_bytes - r.raw_bytes_written - r.not_stored["raw_bytes"] > BACKLOG_BYTES)


def _feed(src: Path, profile: Profile, recorder: Recorder, clock: ArrivalClock,
          progress: Callable[[int, int], None] | None, size: int) -> ImportResult:
    with (ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="sotlog-import-encode") as pool,
          ThreadPoolExecutor(1, thread_name_prefix="sotlog-import-read") as reader):
        run = _Import(recorder, make_decoder(profile), clock, NoticeGate(recorder.on_notice),
                      pool)
        now = 0.0
        next_report = PROGRESS_BYTES
        for data, starts in _ahead(blocks(src, read_size(profile)), reader):
            now = run.block(data, starts)
            if run.behind():
                run.hand(wait=True)
                _wait_for(run)
            if progress and run.raw_bytes >= next_report:
                progress(run.raw_bytes, size)
                next_report = run.raw_bytes + PROGRESS_BYTES
        run.send_chunk()
        run.hand(wait=True)
    run.end(now)
    counters = run.decoder.counters
    left_bytes = counters.cut_bytes
    if left_bytes:
        recorder.add_event("warning", f"the file ends with {left_bytes} bytes of a line or frame "
                           "it cuts short: counted as cut, kept in the raw capture, not decoded",
                           {"bytes": left_bytes}, host_time=now, source="sotlog")
    if clock.backward_steps:
        recorder.add_event("warning", f"the device clock went back {clock.backward_steps} "
                           "time(s); arrival times carry on from the time before",
                           {"times": clock.backward_steps}, host_time=now, source="sotlog")
    recorder.close(status="complete", counters=counters)
    if recorder.error is not None:
        raise StoreError(str(recorder.error))
    if progress:
        progress(run.raw_bytes, size)
    return ImportResult(0, str(src), run.raw_bytes, run.reads, run.frames, clock.mode,
                        clock.rate_hz, counters.as_dict(), left_bytes)


def _ahead(items: Iterator[Block], reader: ThreadPoolExecutor) -> Iterator[Block]:
    """``items``, each made by ``reader`` while the one before is decoded (reading the file and
    finding where its reads start overlaps the decoding); one at a time, in order."""
    coming = reader.submit(next, items, None)
    while (item := coming.result()) is not None:
        coming = reader.submit(next, items, None)
        yield item


def _wait_for(run: _Import) -> None:
    """Let the recorder's writer catch up, so a large file never piles up in memory."""
    pause = threading.Event()
    deadline = time.monotonic() + 600.0
    while run.behind():
        if run.recorder.error is not None or time.monotonic() > deadline:
            raise StoreError("the store stopped taking the import: "
                             f"{run.recorder.error or 'timeout'}")
        pause.wait(0.01)
