"""A closed session's small chunks and raw rows are gathered into fewer: the same frames and
reads, bit for bit. Gathering is a station's; the gathered reads and their arrivals come back
alike from the shared store they sync into (the ``backend`` fixture)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store import codec, gather
from sensing.store.check import check_store
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.sensing.store.backend import Backend
from tests.sensing.store.test_recorder import wait_for

RATE = 80.0
T0 = 1000.0


def record(store: Store, seconds: float, seed: int = 0) -> int:
    """Load cells at 80 Hz, handed to the writer as a device would: a block every 0.1 s."""
    rng = np.random.default_rng(seed)
    sid = store.create_session(SessionMeta(subject_code="P-0001"), load_profile("sim-loadcells"),
                               t0_host=T0)
    rec = Recorder(store, sid)
    n = int(seconds * RATE)
    k = np.arange(n)
    values = rng.integers(100_000, 200_000, (n, 2)).astype(np.float64)
    for a in range(0, n, 8):
        b = min(n, a + 8)
        rec.on_frames(FrameBlock.build(values[a:b], T0 + k[a:b] / RATE,
                                       device_time=k[a:b] / RATE, seq=k[a:b]))
    rec.close("complete", counters=Counters(frames=n))
    return sid


def chunks(path: Path, sid: int) -> int:
    with sqlite3.connect(path) as con:
        return int(con.execute("SELECT count(*) FROM chunks WHERE session_id = ?",
                               (sid,)).fetchone()[0])


def test_gathered_chunks_hold_the_same_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              backend: Backend) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store.open(path)
    gathered = record(store, 150)
    monkeypatch.setattr(gather, "SMALL_BYTES", 0)  # nothing is small: chunks stay as written
    kept = record(store, 150)
    assert chunks(path, kept) >= 150 and chunks(path, gathered) == 3  # 60 + 60 + 30 s
    shared = backend.store(store)
    a, b = shared.session(gathered), shared.session(kept)
    for t0, t1 in ((None, None), (0, 1), (59.5, 60.5), (100, None), (149.9, 200)):
        x, y = a.frames(t0, t1), b.frames(t0, t1)
        for name in ("values", "host_time", "device_time", "seq", "flags"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
    assert a.info.n_frames == b.info.n_frames == 150 * RATE
    joined = FrameBlock.concat(list(a.frame_windows()))
    np.testing.assert_array_equal(joined.values, b.frames().values)


def test_large_chunks_are_left_as_they_are(tmp_path: Path) -> None:
    """Chunks already large (a fast mat) are not rewritten."""
    path = tmp_path / "s.sqlite3"
    store = Store.open(path)
    sid = store.create_session(SessionMeta(), load_profile("sim-mat-48"), t0_host=T0)
    rec = Recorder(store, sid)
    rng = np.random.default_rng(1)
    n = 600  # 2 s at 300 frames/s: two chunks of a second, each far over SMALL_BYTES
    rec.on_frames(FrameBlock.build(rng.integers(0, 4096, (n, 48, 48)).astype(np.uint16),
                                   T0 + np.arange(n) / 300.0))
    rec.close("complete")
    assert chunks(path, sid) == 2


def test_raw_rows_are_gathered_with_every_read_and_its_arrival(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> None:
    """A line a read, as the bridge hands them, a row a second: the gathered raw rows give back
    every read, its bytes and its arrival time, in order; the prelude stays a row of its own."""
    monkeypatch.setattr(gather, "MAX_RAW_BYTES", 80_000)  # 130 s of lines are about 200 kB
    path = tmp_path / "s.sqlite3"
    store = Store.open(path)
    rng = np.random.default_rng(2)
    n = int(130 * RATE)
    lines = [b"%d,%d,%d\r\n" % (k * 12.5, *rng.integers(100_000, 200_000, 2)) for k in range(n)]
    times = (int(T0 * 1e6) + np.cumsum(rng.integers(11_000, 14_000, n))) * 1e-6
    sid = store.create_session(SessionMeta(), load_profile("sim-loadcells"), t0_host=T0)
    rec = Recorder(store, sid)
    rec.on_history([(b"time_ms,left,right\r\n", T0 - 0.5)], 0)
    reads = list(zip(lines, times.tolist(), strict=True))
    for a in range(0, n, int(RATE)):  # a raw row a second, as a flush every second writes
        rec.on_raw_reads(codec.raw_reads(*codec.joined(reads[a:a + int(RATE)])))
    rec.close("complete")
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT prelude, reads FROM raw WHERE session_id = ? "
                           "ORDER BY chunk_index", (sid,)).fetchall()
    assert rows[0] == (1, 1) and [p for p, _ in rows[1:]] == [0, 0, 0]
    assert sum(r for _, r in rows[1:]) == n
    with backend.store(store).session(sid) as s:
        assert list(s.raw()) == list(zip(times.tolist(), lines, strict=True))
        assert list(s.raw(prelude=True)) == [(T0 - 0.5, b"time_ms,left,right\r\n")]


class Reads(list[tuple[float, bytes]]):
    """A listener keeping every read the bridge hands on, with its arrival."""

    def on_raw(self, data: bytes, host_time: float) -> None:
        self.append((host_time, data))


def test_a_recorded_session_keeps_each_arrival_once(tmp_path: Path, backend: Backend) -> None:
    """Recorded from a device through the bridge, a line a read: once closed, the raw rows keep
    the arrivals as references to the frames whose host times they are, and every read, frame,
    check and reparse comes back as it was."""
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=20"
    profile = load_profile("sim-loadcells")
    store = Store.open(tmp_path / "s.sqlite3")
    bridge = Bridge(url, profile)
    bridge.open_once()
    sid = store.create_session(SessionMeta(), profile, port=url)
    rec = Recorder(store, sid)
    reads = Reads()
    bridge.add_listener(rec, history=True)
    bridge.add_listener(reads)
    bridge.start()
    assert wait_for(lambda: rec.frames_written >= 1600, timeout=30)  # 20 s of the device
    bridge.stop()
    rec.close("complete", bridge.counters)
    with sqlite3.connect(store.path) as con:
        codecs = [json.loads(c)["arrival"] for (c,) in con.execute(
            "SELECT codecs FROM raw WHERE session_id = ? AND prelude = 0", (sid,))]
    assert codecs == ["frame-refs-zstd"]
    with backend.store(store).session(sid) as s:
        assert list(s.raw()) == reads
        host = s.frames().host_time
        assert set(host.tolist()) <= {t for t, _ in reads}
        assert reparse(s).identical
    (checked,) = check_store(store).sessions
    assert not checked.problems and checked.raw_bytes == sum(len(d) for _, d in reads)
