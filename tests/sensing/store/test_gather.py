"""A closed session's small chunks are gathered into fewer: the same frames, bit for bit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.frames import Counters, FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store import gather
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

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


def test_gathered_chunks_hold_the_same_frames(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store.open(path)
    gathered = record(store, 150)
    monkeypatch.setattr(gather, "SMALL_BYTES", 0)  # nothing is small: chunks stay as written
    kept = record(store, 150)
    assert chunks(path, kept) >= 150 and chunks(path, gathered) == 3  # 60 + 60 + 30 s
    a, b = store.session(gathered), store.session(kept)
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
