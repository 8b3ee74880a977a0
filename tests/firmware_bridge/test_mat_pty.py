"""Every matrix protocol through a real pseudo-terminal: device -> Bridge -> Recorder -> store.

Values read back from the store are compared with what the device thread sent (or with the
Kitronyx log parsed by the csv module); frames with the wrong size or out-of-range values are
counted and flagged all the way to `sotlog show`, never reshaped or clipped.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from dashboard.cli import main
from firmware_bridge.bridge import Bridge
from firmware_bridge.frames import FLAG_AFTER_GAP, FLAG_OUT_OF_RANGE
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols.blockframe import encode_frame
from firmware_bridge.protocols.m1616 import encode_m1616
from sensing.metadata import SessionMeta
from sensing.metrics.matfacts import mat_facts
from sensing.store.read import Session
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.ptydevice import PtyDevice

REPO = Path(__file__).resolve().parents[2]
KITRONYX = REPO / "fixtures/real/kitronyx_48x48_adc.csv"
WAIT = 10.0


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Wait on a condition with a deadline (an Event nobody sets is the timer)."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.01)
    return True


@contextmanager
def recording(tmp_path: Path, profile: Profile, dev: PtyDevice) -> Iterator[tuple[Bridge, Store,
                                                                                 int]]:
    """A bridge on the pty feeding a recorder into a real store; closed when the block ends."""
    store = Store.open(tmp_path / "pty.sqlite3")
    sid = store.create_session(SessionMeta(subject_code="P-0009"), profile, port=dev.path)
    rec = Recorder(store, sid, flush_interval=0.05)
    bridge = Bridge(dev.path, profile, reconnect=False)
    bridge.add_listener(rec)
    bridge.start()
    try:
        # pyserial empties the input buffer when it opens the port: play only once it is open.
        assert bridge.wait_connected(WAIT)
        yield bridge, store, sid
    finally:
        bridge.stop()
        rec.close(counters=bridge.counters)
    assert rec.error is None


def bytes_arrived(bridge: Bridge, n: int) -> Callable[[], bool]:
    return lambda: bridge.counters.bytes >= n


def kitronyx_csv() -> tuple[np.ndarray, np.ndarray]:
    with open(KITRONYX, newline="") as fh:
        rows = [r for r in csv.reader(fh)][1:]
    data = np.array([[float(c) for c in r if c.strip()] for r in rows if r])
    return data[:, 0], data[:, 1:].reshape(-1, 48, 48)


def test_kitronyx_log_replayed_as_the_device(tmp_path: Path) -> None:
    data = KITRONYX.read_bytes()
    profile = load_profile("kitronyx-48x48-log")
    with PtyDevice() as dev, recording(tmp_path, profile, dev) as (bridge, store, sid):
        dev.play(data[i:i + 4096] for i in range(0, len(data), 4096))
        assert wait_for(bytes_arrived(bridge, len(data)))
        assert wait_for(lambda: bridge.counters.frames == 14)
    s = store.session(sid)
    times, values = kitronyx_csv()
    block = s.frames()
    np.testing.assert_array_equal(block.values, values)
    np.testing.assert_array_equal(block.device_time, times)
    assert b"".join(d for _, d in s.raw()) == data
    assert s.info.counters["undecodable"] == 0 and s.info.counters["wrong_size"] == 0
    assert reparse(s).identical
    total = s.samples().values[:, -1]
    np.testing.assert_allclose(total, values.sum(axis=(1, 2)))


def snowboard_line(values: np.ndarray) -> bytes:
    return (",".join(str(int(v)) for v in values.ravel()) + "\r\n").encode()


def test_snowboard_answers_each_poll_with_a_line(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    frames = rng.integers(0, 256, (12, 16, 10))
    frames[4, 2, 3] = 300  # out of range: kept and flagged
    lines = [snowboard_line(f) for f in frames]
    short = snowboard_line(frames[7].ravel()[:-1])  # 159 values: the wrong size
    lines.insert(8, short)
    profile = load_profile("kitronyx-snowboard")
    answered = threading.Event()
    polls: list[bytes] = []

    def serve(dev: PtyDevice) -> None:
        pending = list(lines)
        while pending and not answered.is_set():
            for byte in dev.read_available(0.05):
                polls.append(bytes([byte]))
                if pending:
                    dev.write(pending.pop(0))
        answered.set()

    with PtyDevice() as dev:
        thread = threading.Thread(target=serve, args=(dev,), daemon=True)
        thread.start()
        with recording(tmp_path, profile, dev) as (bridge, store, sid):
            assert wait_for(answered.is_set)
            assert wait_for(bytes_arrived(bridge, sum(len(x) for x in lines)))
        answered.set()
        thread.join(WAIT)
    assert set(polls) == {b"A"} and len(polls) >= len(lines)
    s = store.session(sid)
    block = s.frames()
    np.testing.assert_array_equal(block.values, frames)
    assert list(np.flatnonzero(block.flags & FLAG_OUT_OF_RANGE)) == [4]
    c = s.info.counters
    assert (c["frames"], c["wrong_size"], c["out_of_range"]) == (12, 1, 1)
    assert {"wrong_size", "out_of_range"} <= {e.kind for e in s.events()}


def test_m1616_frames_with_noise_cut_frames_and_hot_values(tmp_path: Path) -> None:
    profile = parse_profile(load_profile("m1616").source.replace("raw_max = 65535",
                                                                 "raw_max = 4000"), "m.toml")
    rng = np.random.default_rng(12)
    frames = rng.integers(0, 4001, (10, 16, 16))
    frames[3, 0, 0] = 5000
    wire = [encode_m1616(f) for f in frames]
    wire[5] += b"\x13\x37\x00"  # noise between two frames
    wire[7] = wire[7][:-10]  # bytes lost: a short frame, dropped
    data = b"".join(wire)
    with PtyDevice() as dev, recording(tmp_path, profile, dev) as (bridge, store, sid):
        dev.play(data[i:i + 700] for i in range(0, len(data), 700))
        assert wait_for(bytes_arrived(bridge, len(data)))
        assert wait_for(lambda: bridge.counters.frames == 9)
    s = store.session(sid)
    block = s.frames()
    keep = [i for i in range(10) if i != 7]
    np.testing.assert_array_equal(block.values, frames[keep])
    assert list(np.flatnonzero(block.flags & FLAG_OUT_OF_RANGE)) == [3]
    c = s.info.counters
    assert (c["out_of_range"], c["undecodable"]) == (1, 2)
    assert b"".join(d for _, d in s.raw()) == data
    assert reparse(s).identical


MAT_TOML = """
name = "pty-mat"
protocol = "blockframe"
nominal_rate_hz = 50
[matrix]
rows = 8
cols = 6
raw_min = 0
raw_max = 4095
noise_threshold = 10
dtype = "uint16"
"""


def test_blockframe_mat_flags_and_counters_reach_show(tmp_path: Path, capsys) -> None:
    profile = parse_profile(MAT_TOML, "pty-mat.toml")
    rng = np.random.default_rng(13)
    frames = rng.integers(0, 4096, (12, 8, 6)).astype(np.uint16)
    frames[4, 7, 5] = 5000
    wire = [encode_frame(f, seq, 1_000_000 + seq * 20_000) for seq, f in enumerate(frames)]
    wire[5] = encode_frame(frames[5].reshape(6, 8), 5, 1_100_000)  # valid, but the wrong shape
    bad = bytearray(wire[7])
    bad[40] ^= 0xFF  # a changed value byte: the CRC fails, frame 7 is lost
    wire[7] = bytes(bad)
    data = b"".join(wire)
    with PtyDevice() as dev, recording(tmp_path, profile, dev) as (bridge, store, sid):
        dev.play(wire)
        assert wait_for(bytes_arrived(bridge, len(data)))
        assert wait_for(lambda: bridge.counters.frames == 10)
    s: Session = store.session(sid)
    block = s.frames()
    stored = [0, 1, 2, 3, 4, 6, 8, 9, 10, 11]
    np.testing.assert_array_equal(block.values, frames[stored])
    assert list(block.seq) == stored
    assert list(np.flatnonzero(block.flags & FLAG_OUT_OF_RANGE)) == [4]
    assert list(np.flatnonzero(block.flags & FLAG_AFTER_GAP)) == [6]  # seq 8, after lost 7
    assert block.values.max() == 5000  # never clipped
    c = s.info.counters
    assert (c["wrong_size"], c["crc_errors"], c["seq_gaps"], c["out_of_range"]) == (1, 1, 1, 1)
    facts = mat_facts(s)
    assert (facts["flagged_out_of_range"], facts["flagged_after_gap"]) == (1, 1)

    capsys.readouterr()
    assert main(["show", str(sid), "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    for shown in ("wrong_size 1", "crc_errors 1", "seq_gaps 1", "out_of_range 1"):
        assert shown in out
    assert main(["regions", str(sid), "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "flagged: out of range 1, after a gap 1" in out and "8 x 6 sensels" in out


def test_blockframe_mat_regions_from_a_pty_session(tmp_path: Path) -> None:
    """Force per block of a session recorded through the pty, against numpy on the sent frames."""
    rows = 3
    profile = parse_profile(MAT_TOML, "pty-mat.toml")
    frames = np.zeros((30, 8, 6), np.uint16)
    frames[:, 2:2 + rows, 0:2] = 100 + np.arange(30)[:, None, None]
    frames[:, 4:7, 4:6] = 300
    frames[:, 0, 3] = 7  # under the noise threshold (10): no load
    wire = [encode_frame(f, seq, seq * 20_000) for seq, f in enumerate(frames)]
    with PtyDevice() as dev, recording(tmp_path, profile, dev) as (bridge, store, sid):
        dev.play(wire)
        assert wait_for(lambda: bridge.counters.frames == 30)
    s = store.session(sid)
    samples = s.samples()
    assert samples.names == ["left", "right", "total"] and samples.units == ["raw"] * 3
    np.testing.assert_array_equal(samples.values[:, 0], (100 + np.arange(30)) * rows * 2)
    np.testing.assert_array_equal(samples.values[:, 1], np.full(30, 300 * 6))
    np.testing.assert_array_equal(samples.values[:, 2], samples.values[:, 0] + 1800)
