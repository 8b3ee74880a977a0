"""The recorder on real SQLite files: exact round trips, commit latency, full disk, SIGKILL, pty.
A round trip is also read back from the shared store it syncs into (the ``backend`` fixture)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.frames import Counters, FrameBlock, Notice
from firmware_bridge.profiles import parse_profile
from firmware_bridge.protocols.blockframe import encode_frame
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.ptydevice import PtyDevice
from tests.sensing.store.backend import Backend
from tests.sensing.store.test_store import (
    a_meta,
    cell_block,
    cells_profile,
    mat_profile,
    open_store,
)

REPO = Path(__file__).resolve().parents[3]


def wait_for(predicate, timeout: float = 5.0, step: float = 0.01) -> bool:
    """Wait on a condition with a deadline (an Event that nobody sets is our timer)."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        pause.wait(step)
    return True


def mat_block(start: int, n: int, rng: np.random.Generator, t0: float = 0.0,
              rate: float = 50.0) -> FrameBlock:
    """A 48x48 uint16 mat under two blocks: slowly breathing pressure, sensor noise, zeros."""
    y, x = np.mgrid[0:48, 0:48]
    t = (start + np.arange(n)) / rate
    amp = 2000 + 300 * np.sin(2 * np.pi * 0.2 * t)
    frames = np.zeros((n, 48, 48))
    for cx in (15, 33):
        frames += amp[:, None, None] * np.exp(-((x - cx) ** 2 + (y - 24) ** 2) / 40.0)[None]
    frames += rng.normal(0, 4, frames.shape)
    frames[frames < 20] = 0
    values = np.clip(np.rint(frames), 0, 4095).astype(np.uint16)
    return FrameBlock.build(values, t0 + t, t, start + np.arange(n))


def assert_same(a: FrameBlock, b: FrameBlock) -> None:
    """Bit-identical, NaNs included."""
    assert a.values.dtype == b.values.dtype and a.values.shape == b.values.shape
    assert a.values.tobytes() == b.values.tobytes()
    for name in ("host_time", "device_time", "seq", "flags"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


def test_load_cell_frames_raw_and_events_round_trip(tmp_path: Path, backend: Backend) -> None:
    store = open_store(tmp_path)
    sid = store.create_session(a_meta(), cells_profile(), t0_host=1000.0)
    rec = Recorder(store, sid, flush_interval=0.05)
    blocks = [cell_block(k, 37) for k in range(0, 370, 37)]
    reads = [(os.urandom(int(n)), 1000.0 + i * 0.013) for i, n in
             enumerate(np.random.default_rng(3).integers(1, 300, 120))]
    for i, b in enumerate(blocks):
        rec.on_frames(b)
        for r in reads[i * 12:(i + 1) * 12]:
            rec.on_raw(*r)
        if i == 4:
            rec.on_notice(Notice(1002.0, "crc_error", "frame 17 failed its CRC", {"seq": 17}))
    eid = rec.add_event("placed", "left block placed", {"block": "left"}, host_time=1001.5)
    assert isinstance(eid, int)
    rec.close(counters=Counters(bytes=999, frames=370, crc_errors=1))
    assert rec.error is None and rec.frames_written == 370

    s = backend.store(store).session(sid)
    assert_same(s.frames(), FrameBlock.concat(blocks))
    assert list(s.raw()) == [(t, d) for d, t in reads]
    events = {e.kind: e for e in s.events()}
    assert events["placed"].id == eid and events["placed"].time_s == pytest.approx(1.5)
    assert events["placed"].source == "person" and events["placed"].data == {"block": "left"}
    crc = events["crc_error"]
    assert (crc.source, crc.text, crc.data) == ("device", "frame 17 failed its CRC", {"seq": 17})
    info = s.info
    assert info.status == "complete" and info.ended_utc is not None and info.n_frames == 370
    assert info.counters["frames"] == 370 and info.counters["crc_errors"] == 1
    assert info.counters["stored_frames"] == 370
    assert info.counters["stored_raw_bytes"] == sum(len(d) for d, _ in reads)
    assert info.duration_s == pytest.approx(369 / 80)
    assert info.dtype == "<f8"


def test_mat_round_trip_is_exact_and_compact(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """48x48 uint16 at 50 fps for a simulated minute: exact, and how many bytes per frame."""
    store = open_store(tmp_path)
    sid = store.create_session(a_meta(), mat_profile(), t0_host=0.0)
    rec = Recorder(store, sid)
    rng = np.random.default_rng(7)
    blocks = [mat_block(k, 25, rng) for k in range(0, 3000, 25)]  # 0.5 s each
    for b in blocks:
        rec.on_frames(b)
    rec.close()
    s = store.session(sid)
    assert_same(s.frames(), FrameBlock.concat(blocks))
    with store.connect() as conn:
        stored = conn.execute(
            "SELECT sum(length(vals)), sum(length(vals) + length(host_time) + length(device_time)"
            " + length(seq) + length(flags)), count(*) FROM chunks").fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    file_bytes = store.path.stat().st_size
    per_frame = stored[1] / 3000
    with capsys.disabled():
        print(f"\n48x48 uint16 mat, 50 fps, 60 s: {stored[0] / 3000:.0f} B/frame values, "
              f"{per_frame:.0f} B/frame with times, {file_bytes / 3000:.0f} B/frame on disk "
              f"(raw {48 * 48 * 2} B/frame), {stored[2]} chunks")
    assert per_frame < 48 * 48 * 2 / 3  # at least 3x smaller than the raw frames
    assert 59 <= stored[2] <= 130  # chunks of 0.5-1 s (230 kB of values: not gathered)


def test_a_reader_sees_samples_within_a_second(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    sid = store.create_session(a_meta(), cells_profile(), t0_host=1000.0)
    rec = Recorder(store, sid)  # the default flush interval
    reader = store.session(sid)
    total, latencies = 0, []
    for k in range(3):
        rec.on_frames(cell_block(total, 40))
        total += 40
        fed = time.monotonic()
        assert wait_for(lambda n=total: reader.refresh().n_frames >= n, timeout=2.0)
        latencies.append(time.monotonic() - fed)
        assert_same(reader.frames(), cell_block(0, total))
        assert k == 0 or rec.last_commit_time is not None
    rec.close()
    assert max(latencies) < 1.0, latencies


def test_a_full_disk_keeps_what_was_committed_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "small.sqlite3"
    Store.open(path)
    store = Store.open(path, max_bytes=path.stat().st_size + 600_000)
    sid = store.create_session(a_meta(), mat_profile(), t0_host=0.0)
    rec = Recorder(store, sid, flush_interval=0.05)
    rng = np.random.default_rng(1)
    fed: list[FrameBlock] = []
    while rec.error is None and len(fed) < 100:
        noisy = FrameBlock.build(rng.integers(0, 65535, (20, 48, 48), dtype=np.uint16),
                                 len(fed) + np.arange(20) / 50)
        fed.append(noisy)
        rec.on_frames(noisy)
        wait_for(lambda: rec.error is not None or rec.frames_written >= 20 * len(fed), 2.0)
    assert rec.error is not None, "the size cap never filled"
    rec.on_frames(fed[-1])  # after the failure: counted, not stored
    rec.close()
    assert "full" in str(rec.error) and "\n" not in str(rec.error)
    written = rec.frames_written
    assert 0 < written < 20 * len(fed)
    assert rec.not_stored["frames"] == 20 * (len(fed) + 1) - written
    s = Store.open(path).session(sid)
    assert s.info.status == "interrupted" and s.info.n_frames == written
    assert_same(s.frames(), _head(FrameBlock.concat(fed), written))


def _head(block: FrameBlock, n: int) -> FrameBlock:
    return FrameBlock(block.values[:n], block.host_time[:n], block.device_time[:n],
                      block.seq[:n], block.flags[:n])


def test_frames_of_the_wrong_shape_are_counted_and_reported(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    sid = store.create_session(a_meta(), cells_profile(), t0_host=1000.0)
    rec = Recorder(store, sid)
    rec.on_frames(cell_block(0, 10))
    rec.on_frames(FrameBlock.build(np.zeros((3, 5)), 1000.5))
    rec.close()
    s = store.session(sid)
    assert s.info.n_frames == 10 and rec.not_stored["frames"] == 3
    assert s.info.counters["not_stored"]["frames"] == 3
    (warning,) = [e for e in s.events() if e.kind == "warning"]
    assert warning.source == "sotlog" and warning.data["frames"] == 3


def test_after_close_nothing_is_silently_lost(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    sid = store.create_session(a_meta(), cells_profile())
    rec = Recorder(store, sid)
    rec.close(status="interrupted")
    rec.close()  # twice is harmless
    rec.on_frames(cell_block(0, 4))
    rec.on_raw(b"abc", 1.0)
    assert rec.add_event("note", "late") is None
    assert rec.not_stored == {"frames": 4, "raw_bytes": 3, "events": 1}
    assert store.session(sid).info.status == "interrupted"
    with pytest.raises(Exception, match="not recording"):
        Recorder(store, sid)


CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from firmware_bridge.frames import Notice
from sensing.store.writer import Recorder
from sensing.store.sessions import Store
from tests.sensing.store.test_store import a_meta, cell_block, cells_profile
store = Store.open({path!r})
sid = store.create_session(a_meta(), cells_profile(), t0_host=1000.0)
rec = Recorder(store, sid, flush_interval=0.05)
print("session", sid, flush=True)
k, told = 0, -1
while True:
    # The bridge's order: a read's bytes reach listeners before the frames decoded from them.
    rec.on_raw(bytes([k % 256]) * 8, 1000.0 + k / 80)
    rec.on_frames(cell_block(k, 8))
    k += 8
    if rec.frames_written != told:
        told = rec.frames_written
        print("committed", told, flush=True)
    time.sleep(0.005)
"""


def test_sigkill_mid_session_keeps_every_committed_sample(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(repo=str(REPO), path=str(path))],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        sid = int(lines.get(timeout=20).split()[1])
        reported = 0
        while reported < 400:
            reported = int(lines.get(timeout=10).split()[1])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    store = Store.open(path)
    s = store.session(sid)
    assert s.info.status == "interrupted"
    n = s.info.n_frames
    assert n >= reported
    assert_same(s.frames(), cell_block(0, n))
    raw = list(s.raw())
    assert len(raw) * 8 >= reported and all(d == bytes([(8 * i) % 256]) * 8
                                            for i, (_, d) in enumerate(raw))
    assert [e.kind for e in s.events()] == ["warning"]


def test_recording_a_device_on_a_pseudo_terminal(tmp_path: Path) -> None:
    """Bytes on a real pty -> Bridge -> Recorder -> store: every byte and frame comes back."""
    profile = parse_profile(
        'name = "pty-cells"\nprotocol = "blockframe"\n'
        '[[channels]]\nname = "left"\n[[channels]]\nname = "right"\n', "test:pty")
    counts = np.arange(400, dtype=np.int32).reshape(200, 2) * np.int32(1013) - 90_000
    wire = [encode_frame(counts[i], i, 1_000_000 + 12_500 * i) for i in range(200)]
    store = open_store(tmp_path)
    done = threading.Event()

    class Until:
        frames = 0

        def on_frames(self, block: FrameBlock) -> None:
            self.frames += len(block)
            if self.frames >= 200:
                done.set()

    with PtyDevice() as dev:
        bridge = Bridge(dev.path, profile, reconnect=False)
        sid = store.create_session(a_meta(), profile, port=dev.path, t0_host=time.monotonic())
        rec = Recorder(store, sid)
        bridge.add_listener(rec)
        bridge.add_listener(Until())
        bridge.start()
        assert bridge.wait_connected(5)
        dev.play([b"".join(wire[i:i + 10]) for i in range(0, 200, 10)])
        assert done.wait(10)
        bridge.stop()
        rec.close(counters=bridge.counters)
    s = store.session(sid)
    frames = s.frames()
    assert np.array_equal(frames.values, counts) and frames.values.dtype == np.int32
    assert np.array_equal(frames.seq, np.arange(200))
    assert np.allclose(frames.device_time, 1.0 + 0.0125 * np.arange(200))
    assert b"".join(d for _, d in s.raw()) == b"".join(wire)
    assert s.info.counters["bytes"] == len(b"".join(wire)) and s.info.counters["frames"] == 200
