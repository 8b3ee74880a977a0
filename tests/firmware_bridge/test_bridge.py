"""The bridge through real pseudo-terminals: fan-out, slow and broken listeners, reconnect, stop."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import DeviceError
from firmware_bridge.frames import FLAG_AFTER_GAP, FrameBlock, Notice
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols.blockframe import encode_frame
from tests.ptydevice import PtyDevice, plug

WAIT = 5.0  # generous upper bound for anything to arrive; tests return as soon as it does


def blockframe_bytes(first: int, n: int) -> list[bytes]:
    """``n`` frames with seq first..first+n-1 carrying (seq, -seq) as int32."""
    seqs = range(first, first + n)
    return [encode_frame(np.array([s, -s], np.int32), s, s * 12_500) for s in seqs]


class Collector:
    """A listener that files everything it is handed into one queue, read by the test thread."""

    def __init__(self) -> None:
        self.q: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.blocks: list[FrameBlock] = []
        self.raw = bytearray()
        self.reads: list[bytes] = []
        self.raw_times: list[float] = []
        self.notices: list[Notice] = []

    def on_raw(self, data: bytes, host_time: float) -> None:
        self.q.put(("raw", (data, host_time)))

    def on_frames(self, block: FrameBlock) -> None:
        self.q.put(("frames", block))

    def on_notice(self, notice: Notice) -> None:
        self.q.put(("notice", notice))

    @property
    def n_frames(self) -> int:
        return sum(len(b) for b in self.blocks)

    def values(self) -> np.ndarray:
        return np.concatenate([b.values for b in self.blocks])

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]

    def wait(self, done: Callable[[], bool], timeout: float = WAIT) -> None:
        """File queued items until ``done()`` holds; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out: {self.n_frames} frames, {len(self.raw)} raw bytes, {self.kinds()}"
                )
            try:
                what, item = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if what == "raw":
                self.raw += item[0]
                self.reads.append(item[0])
                self.raw_times.append(item[1])
            elif what == "frames":
                self.blocks.append(item)
            else:
                self.notices.append(item)

    def wait_frames(self, n: int) -> None:
        self.wait(lambda: self.n_frames >= n)

    def wait_notice(self, kind: str) -> Notice:
        self.wait(lambda: kind in self.kinds())
        return next(n for n in self.notices if n.kind == kind)


def started(make: Any, url: str, profile: Profile, *listeners: Any, **kw: Any) -> Bridge:
    bridge = make(url, profile, **kw)
    for listener in listeners:
        bridge.add_listener(listener)
    bridge.start()
    assert bridge.wait_connected(WAIT), bridge.error
    return bridge


def unplugged(make: Any, link: Path, profile: Profile, c: Collector, data: bytes,
              frames: int) -> Bridge:
    """A bridge reading a device behind ``link`` that sent ``data`` (``frames`` frames) and was
    then unplugged; returned once the bridge has said so."""
    dev = PtyDevice()
    try:
        plug(link, dev)
        bridge = started(make, str(link), profile, c)
        dev.write(data)
        c.wait_frames(frames)
    finally:
        dev.close()
    c.wait_notice("disconnect")
    return bridge


def test_frames_raw_and_notices_reach_two_listeners(bridges: Any, loadcells: Profile) -> None:
    a, b = Collector(), Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, a, b)
        assert bridge.state == "connected"
        chunks = [*blockframe_bytes(0, 20), b"\x00junk\x00", *blockframe_bytes(20, 20)]
        sent = b"".join(chunks)
        dev.play(chunks, interval=0.002)
        for c in (a, b):
            c.wait(lambda c=c: c.n_frames >= 40 and len(c.raw) >= len(sent)
                   and "undecodable" in c.kinds())
            assert bytes(c.raw) == sent
            assert c.values().tolist() == [[s, -s] for s in range(40)]
            times = np.concatenate([blk.host_time for blk in c.blocks])
            assert np.all(np.diff(times) >= 0)
            assert times[0] >= c.raw_times[0]
            junk = next(n for n in c.notices if n.kind == "undecodable")
            assert junk.data["count"] == 1
        counters = bridge.counters
        assert (counters.frames, counters.bytes, counters.undecodable) == (40, len(sent), 1)
        assert counters.reconnects == 0
        bridge.stop()
        assert bridge.state == "stopped"


def test_a_slow_listener_does_not_stall_the_others(bridges: Any, loadcells: Profile) -> None:
    class SlowConsumer:
        """Queues into a small bounded queue; a consumer thread takes 0.2 s per block."""

        def __init__(self) -> None:
            self.q: queue.Queue[FrameBlock] = queue.Queue(maxsize=2)
            self.dropped = 0
            self.processed = 0
            self.stop = threading.Event()
            threading.Thread(target=self.consume, daemon=True).start()

        def on_frames(self, block: FrameBlock) -> None:
            try:
                self.q.put_nowait(block)
            except queue.Full:
                self.dropped += 1  # this listener's own policy; the bridge never waits

        def consume(self) -> None:
            while not self.stop.is_set():
                try:
                    self.q.get(timeout=0.05)
                except queue.Empty:
                    continue
                self.stop.wait(0.2)  # deliberately slow work
                self.processed += 1

    slow, fast = SlowConsumer(), Collector()
    try:
        with PtyDevice() as dev:
            started(bridges, dev.path, loadcells, slow, fast)
            dev.play(blockframe_bytes(0, 60), interval=0.01)
            fast.wait_frames(60)
            assert fast.values()[:, 0].tolist() == list(range(60))
            assert slow.processed < len(fast.blocks)
            assert slow.dropped > 0
    finally:
        slow.stop.set()


def test_a_listener_that_raises_does_not_kill_the_bridge(
    bridges: Any, loadcells: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_raw(self, data: bytes, host_time: float) -> None:
            raise RuntimeError("broken listener")

        def on_frames(self, block: FrameBlock) -> None:
            raise RuntimeError("broken listener")

    good = Collector()
    with PtyDevice() as dev, caplog.at_level(logging.ERROR, logger="firmware_bridge.bridge"):
        bridge = started(bridges, dev.path, loadcells, Broken(), good)
        dev.play(blockframe_bytes(0, 30), interval=0.002)
        good.wait_frames(30)
        assert bridge.state == "connected"
        assert bridge.listener_errors >= 2
        assert bridge.counters.frames == 30
        logged = [r for r in caplog.records if "listener" in r.getMessage()]
        assert len(logged) == 1


def test_notice_floods_are_coalesced_but_counted(bridges: Any, loadcells: Profile) -> None:
    c = Collector()
    chunks = []
    for s in range(50):
        chunks += [b"\x00bad\x00", *blockframe_bytes(s, 1)]  # a skipped run ends at a frame
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, c)
        dev.play([b"".join(chunks)])
        c.wait_frames(50)
        bridge.stop()  # stop passes on what is held back
        c.wait(lambda: sum(n.data["count"] for n in c.notices if n.kind == "undecodable") >= 50)
    undecodable = [n for n in c.notices if n.kind == "undecodable"]
    assert bridge.counters.undecodable == 50
    assert sum(n.data["count"] for n in undecodable) == 50
    assert len(undecodable) <= 3


def test_reconnect_after_the_device_disappears(tmp_path: Path, bridges: Any,
                                               loadcells: Profile) -> None:
    link = tmp_path / "ttyDEV"
    c = Collector()
    dev1 = PtyDevice()
    try:
        os.symlink(dev1.path, link)
        bridge = started(bridges, str(link), loadcells, c, backoff=(0.02, 0.2))
        dev1.play(blockframe_bytes(0, 10), interval=0.002)
        c.wait_frames(10)
        last_before = c.blocks[-1].host_time[-1]
    finally:
        dev1.close()  # unplugged
    lost = c.wait_notice("disconnect")
    assert bridge.state in ("disconnected", "connected")
    with PtyDevice() as dev2:
        plug(link, dev2)  # plugged in again, perhaps under another pts number
        c.wait_notice("reconnect")
        assert bridge.wait_connected(WAIT)
        dev2.play(blockframe_bytes(10, 10), interval=0.002)
        gap = c.wait_notice("gap")  # the gap ends with the first byte after the reconnect
        c.wait_frames(20)
    assert c.kinds().index("disconnect") < c.kinds().index("reconnect") < c.kinds().index("gap")
    assert gap.data["start"] >= last_before
    assert gap.data["start"] <= lost.host_time <= gap.data["end"]
    assert gap.data["duration_s"] == pytest.approx(gap.data["end"] - gap.data["start"])
    assert bridge.counters.reconnects == 1
    assert bridge.counters.frames == 20
    assert c.values()[:, 0].tolist() == list(range(20))
    after = next(b for b in c.blocks if b.seq[0] == 10)
    assert after.flags[0] & FLAG_AFTER_GAP
    assert not any(b.flags.any() for b in c.blocks if b.seq[0] < 10)


def test_reconnect_to_a_simulated_device_that_is_unplugged(bridges: Any) -> None:
    profile = load_profile("sim-loadcells-blockframe")
    url = "sim://loadcells?protocol=blockframe&rate=200&disconnect_after=0.3&down=0.25"
    c = Collector()
    bridge = started(bridges, url, profile, c, backoff=(0.02, 0.1))
    gap = c.wait_notice("gap")
    c.wait(lambda: any(b.flags[0] & FLAG_AFTER_GAP for b in c.blocks))
    bridge.stop()
    assert c.kinds().index("disconnect") < c.kinds().index("reconnect")
    assert gap.data["duration_s"] >= 0.2  # the device stayed unplugged for 0.25 s
    assert bridge.counters.reconnects >= 1
    assert bridge.counters.crc_errors == 0


def test_a_port_that_appears_later_is_found(tmp_path: Path, bridges: Any,
                                            loadcells: Profile) -> None:
    link = tmp_path / "ttyLATE"
    bridge = bridges(str(link), loadcells, backoff=(0.02, 0.1))
    bridge.start()
    assert not bridge.wait_connected(0.1)
    assert bridge.state == "connecting"
    assert isinstance(bridge.error, DeviceError)
    with PtyDevice() as dev:
        os.symlink(dev.path, link)
        assert bridge.wait_connected(WAIT)
        assert bridge.state == "connected"
        assert bridge.counters.reconnects == 0


def test_missing_port_fails_fast(tmp_path: Path, bridges: Any, loadcells: Profile) -> None:
    missing = str(tmp_path / "ttyUSB9")
    with pytest.raises(DeviceError, match="no such device"):
        Bridge.check(missing, loadcells)
    bridge = bridges(missing, loadcells)
    with pytest.raises(DeviceError, match=f"cannot open {missing}"):
        bridge.open_once()
    once = bridges(missing, loadcells, reconnect=False)
    once.start()
    assert once._thread is not None
    once._thread.join(WAIT)
    assert once.state == "disconnected"
    assert str(once.error) == f"cannot open {missing}: no such device"


def test_open_once_hands_the_port_to_the_thread(bridges: Any, loadcells: Profile) -> None:
    c = Collector()
    with PtyDevice() as dev:
        bridge = bridges(dev.path, loadcells)
        bridge.open_once()
        bridge.add_listener(c)
        bridge.start()
        assert bridge.wait_connected(WAIT)
        dev.play(blockframe_bytes(0, 5))
        c.wait_frames(5)


def test_stop_is_quick_and_final(bridges: Any, loadcells: Profile) -> None:
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, read_timeout=1.0)
        t0 = time.monotonic()
        bridge.stop()
        took = time.monotonic() - t0
        assert took < 0.5
        assert bridge.state == "stopped"
        assert bridge._thread is not None and not bridge._thread.is_alive()


def test_write_reaches_the_device_and_fails_when_not_connected(
    bridges: Any, loadcells: Profile
) -> None:
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells)
        bridge.write(b"T\n")
        got = bytearray()
        deadline = time.monotonic() + WAIT
        while len(got) < 2 and time.monotonic() < deadline:
            got += dev.read_available(timeout=0.1)
        assert bytes(got) == b"T\n"
        bridge.stop()
        with pytest.raises(DeviceError, match="not connected"):
            bridge.write(b"T\n")


def test_frame_rate_is_measured(bridges: Any, loadcells: Profile) -> None:
    c = Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, c)
        assert bridge.frame_rate == 0.0
        dev.play(blockframe_bytes(0, 100), interval=0.01)  # at most 100 frames/s
        c.wait_frames(100)
        assert 20 < bridge.frame_rate <= 110


def test_remove_listener(bridges: Any, loadcells: Profile) -> None:
    a, b = Collector(), Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, a, b)
        dev.write(b"".join(blockframe_bytes(0, 3)))
        a.wait_frames(3)
        b.wait_frames(3)
        bridge.remove_listener(b)
        dev.write(b"".join(blockframe_bytes(3, 3)))
        a.wait_frames(6)
        bridge.stop()
    assert b.q.empty() and b.n_frames == 3


def test_text_lines_through_the_bridge(bridges: Any) -> None:
    pytest.importorskip("firmware_bridge.protocols.lines")
    profile = parse_profile(
        'name = "t"\nprotocol = "lines"\n[options]\ntime_column = 0\n'
        '[[channels]]\nname = "left"\n[[channels]]\nname = "right"\n'
    )
    c = Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, profile, c)
        dev.write(b"time_ms,left,right\r\n")
        dev.write(b"".join(b"%d,%d,%d\r\n" % (i * 10, i, -i) for i in range(20)))
        dev.write(b"this is not a reading\r\n")
        dev.write(b"".join(b"%d,%d,%d\r\n" % (i * 10, i, -i) for i in range(20, 30)))
        c.wait(lambda: c.n_frames >= 30 and "undecodable" in c.kinds())
    assert c.values().tolist() == [[i, -i] for i in range(30)]
    device_time = np.concatenate([b.device_time for b in c.blocks])
    assert device_time == pytest.approx(np.arange(30) * 0.01)
    assert bridge.counters.undecodable == 1


def test_a_line_written_at_once_is_one_read(bridges: Any) -> None:
    """A line the device writes whole reaches the listeners in one read, stamped once, in whole
    microseconds: never its first byte, then the rest."""
    profile = parse_profile('name = "t"\nprotocol = "lines"\n[options]\ntime_column = 0\n'
                            '[[channels]]\nname = "left"\n')
    lines = [b"%d,%d\r\n" % (i * 10, 1000 + i) for i in range(40)]
    sent = b"".join(lines)
    c = Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, profile, c)
        dev.play(lines, interval=0.01)  # a line every 10 ms, as a 100 Hz device sends them
        c.wait(lambda: len(c.raw) >= len(sent) and c.n_frames >= len(lines) - 1)
    assert bytes(c.raw) == sent and bridge.counters.bytes == len(sent)
    assert all(read.endswith(b"\r\n") for read in c.reads), c.reads[:4]
    assert len(lines) / 2 < len(c.reads) <= len(lines)  # (a busy machine may join two)
    times = np.array(c.raw_times)
    assert np.all(np.diff(times) > 0)
    assert np.array_equal(np.rint(times / 1e-6) * 1e-6, times)
    host = np.concatenate([b.host_time for b in c.blocks])
    assert set(host.tolist()) <= set(c.raw_times)


def test_a_polled_device_is_asked_for_each_frame(bridges: Any) -> None:
    """A Kitronyx Snowboard answers one line of 160 values per poll byte, and only then."""
    profile = load_profile("kitronyx-snowboard")
    c = Collector()
    answered = 0
    stop = threading.Event()

    def board(dev: PtyDevice) -> None:
        nonlocal answered
        while not stop.is_set():
            for _ in dev.read_available(timeout=0.05):  # one answer per byte received
                frame = np.full(160, answered % 256)
                dev.write(",".join(map(str, frame)).encode() + b"\r\n")
                answered += 1

    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, profile, c)
        player = threading.Thread(target=board, args=(dev,), daemon=True)
        player.start()
        try:
            c.wait_frames(40)
        finally:
            stop.set()
            player.join(WAIT)
        c.wait_frames(answered)  # every answer the board sent is decoded
        bridge.stop()
    assert set(dev.received) == {ord("A")}
    values = c.values()
    assert values.shape == (answered, 16, 10)
    assert values[:, 0, 0].tolist() == [k % 256 for k in range(answered)]
    assert bridge.counters.undecodable == 0


def test_a_removed_listener_has_every_frame_of_the_bytes_it_got(bridges: Any,
                                                               loadcells: Profile) -> None:
    """remove_listener returns once the read in hand has reached the listener whole: a recorder
    closed right after it has the frames of every byte it kept, and nothing comes later."""
    entered, removed = threading.Event(), threading.Event()
    late: list[str] = []
    got: dict[str, int] = {"bytes": 0, "frames": 0}
    size = len(blockframe_bytes(0, 1)[0])

    class Slow:
        def on_raw(self, data: bytes, host_time: float) -> None:
            if removed.is_set():
                late.append("raw")
            got["bytes"] += len(data)
            if got["bytes"] >= size and not entered.is_set():  # this read completes a frame
                entered.set()
                time.sleep(0.2)  # ... and is being handed on while the test removes us

        def on_frames(self, block: FrameBlock) -> None:
            if removed.is_set():
                late.append("frames")
            got["frames"] += len(block)

    slow = Slow()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, slow)
        dev.write(b"".join(blockframe_bytes(0, 5)))
        assert entered.wait(WAIT)
        bridge.remove_listener(slow)
        removed.set()
        assert got["frames"] == got["bytes"] // size >= 1
        dev.write(b"".join(blockframe_bytes(5, 5)))
        time.sleep(0.3)
        assert late == []
        bridge.stop()
