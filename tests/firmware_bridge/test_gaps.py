"""Holes in the data are never silent: a device that falls silent, a port lost and found again,
the bytes a cut leaves, the first line after a reopen (docs/wire.md). Real pseudo-terminals
with a thread playing the device, the ``sim://`` devices, real decoders."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.bridge import default_stall_s
from firmware_bridge.frames import FLAG_AFTER_GAP
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from tests.firmware_bridge.test_bridge import Collector, blockframe_bytes, started, unplugged
from tests.ptydevice import PtyDevice, plug

TIMED = parse_profile('name = "t"\nprotocol = "lines"\nnominal_rate_hz = 100\n[options]\n'
                      'time_column = 0\n[[channels]]\nname = "a"\n[[channels]]\nname = "b"\n')


def lines_from(t0: int) -> Iterator[bytes]:
    """``millis,a,b`` lines every 10 ms of device time from ``t0``, for ever."""
    return (b"%d,%d,%d\r\n" % (t, t // 10, -(t // 10)) for t in itertools.count(t0, 10))


def counted(c: Any) -> None:
    """Every byte the bridge read is decoded, undecodable, cut or held."""
    assert c.bytes == c.decoded_bytes + c.undecodable_bytes + c.cut_bytes + c.held_bytes


def absent(seconds: float) -> None:
    """The device stays unplugged this long (the time the test is about, not a wait for
    something to happen)."""
    threading.Event().wait(seconds)


def test_a_silent_device_stalls_and_its_gap_spans_the_silence(bridges: Any,
                                                             loadcells: Profile) -> None:
    c = Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, c, stall_after=0.3)
        dev.write(b"".join(blockframe_bytes(0, 5)))
        c.wait_frames(5)
        stall = c.wait_notice("stall")
        last = c.raw_times[-1]
        assert bridge.state == "stalled" and bridge.counters.stalls == 1
        assert stall.data["last_data"] == last and stall.host_time - last >= 0.3
        assert stall.data["stall_after_s"] == 0.3 and bridge.gap_since == last
        dev.write(b"".join(blockframe_bytes(5, 5)))
        c.wait_frames(10)
        gap = c.wait_notice("gap")
        assert bridge.state == "connected" and bridge.gap_since is None
    first_after = min(t for t in c.raw_times if t > stall.host_time)
    assert gap.data["start"] == last and gap.data["end"] == first_after
    assert gap.data["duration_s"] == pytest.approx(first_after - last)
    assert c.kinds().index("stall") < c.kinds().index("gap")
    after = next(b for b in c.blocks if b.seq[0] == 5)
    assert after.flags[0] & FLAG_AFTER_GAP
    assert bridge.counters.stalls == 1 and bridge.counters.reconnects == 0


def test_the_stall_time_comes_from_the_profile_rate() -> None:
    assert default_stall_s(load_profile("sotlog-loadcells")) == 1.0  # 80 Hz: at least 1 s
    assert default_stall_s(load_profile("kitronyx-48x48-log")) == 5.0  # 1 Hz: 5 periods
    assert default_stall_s(parse_profile(
        'name = "t"\nprotocol = "lines"\n[[channels]]\nname = "a"\n')) == 2.0  # no rate
    assert default_stall_s(parse_profile(  # the profile's own, even below the 1 s floor
        'name = "t"\nprotocol = "lines"\nnominal_rate_hz = 80\nstall_after_s = 0.25\n'
        '[[channels]]\nname = "a"\n')) == 0.25


def test_a_simulated_device_that_pauses(bridges: Any) -> None:
    """sim:// with ``pause``: silent 1.6 s, port open. The profile's 80 Hz make it a stall
    after 1 s; the gap spans the silence, and the samples never sent show as a sequence gap."""
    profile = load_profile("sim-loadcells-blockframe")
    c = Collector()
    url = "sim://loadcells?protocol=blockframe&rate=80&pause_after=0.3&pause=1.6"
    bridge = started(bridges, url, profile, c)
    assert bridge.stall_after == 1.0
    stall = c.wait_notice("stall")
    gap = c.wait_notice("gap")
    c.wait(lambda: any(b.flags[0] & FLAG_AFTER_GAP for b in c.blocks))
    assert 1.0 <= stall.data["silent_s"] < 1.4
    assert 1.45 <= gap.data["duration_s"] <= 1.9
    assert 100 <= bridge.counters.seq_gaps <= 140  # about 1.6 s x 80 Hz of samples
    bridge.stop()
    assert bridge.counters.stalls == 1
    counted(bridge.counters)


def test_stopping_a_silent_device_closes_its_gap(bridges: Any, loadcells: Profile) -> None:
    c = Collector()
    with PtyDevice() as dev:
        bridge = started(bridges, dev.path, loadcells, c, stall_after=0.2)
        dev.write(b"".join(blockframe_bytes(0, 2)))
        c.wait_notice("stall")
        bridge.stop()
        gap = c.wait_notice("gap")
    assert "until the bridge stopped" in gap.detail and gap.data["start"] == c.raw_times[-1]


def test_a_device_back_is_found_within_a_tenth_of_a_second(tmp_path: Path,
                                                             bridges: Any) -> None:
    """Unplugged for 2 s: reopened within ~0.1 s of its return; the gap runs from the last
    byte before to the first byte after, and the first line after the reopen is kept."""
    link = tmp_path / "ttyACM0"
    c = Collector()
    data = b"".join(itertools.islice(lines_from(1000), 30))
    bridge = unplugged(bridges, link, TIMED, c, data, 30)  # the default look-again times
    last_before = c.raw_times[-1]
    absent(2.0)
    with PtyDevice() as dev2:
        dev2.play(lines_from(5000), interval=0.01)  # sending from the moment it is back
        back = time.monotonic()
        plug(link, dev2)
        reconnect = c.wait_notice("reconnect")
        gap = c.wait_notice("gap")
        c.wait_frames(60)
    assert reconnect.host_time - back < 0.35
    first_after = min(t for t in c.raw_times if t > reconnect.host_time)
    assert gap.data["start"] == last_before and gap.data["end"] == first_after
    assert gap.data["end"] - back < 0.35
    # the first line read after the reopen is kept: its time fits the next line's
    raw_after = b"".join(d for d, t in zip(c.reads, c.raw_times, strict=True)
                         if t > reconnect.host_time)
    first_time = int(raw_after.split(b",", 1)[0])
    times = np.concatenate([b.device_time for b in c.blocks])
    assert times[30] == pytest.approx(first_time / 1000)
    assert bridge.counters.undecodable == 0 and bridge.counters.reconnects == 1
    counted(bridge.counters)


def test_a_provably_partial_first_line_after_a_reconnect_is_counted(tmp_path: Path,
                                                                      bridges: Any) -> None:
    link = tmp_path / "ttyUSB0"
    c = Collector()
    bridge = unplugged(bridges, link, TIMED, c, b"".join(itertools.islice(lines_from(1000), 5)),
                       5)
    with PtyDevice() as dev2:
        plug(link, dev2)
        c.wait_notice("reconnect")
        dev2.write(b"0,2,-2\r\n")  # the end of "2000,2,-2", the rest sent before the reopen
        dev2.write(b"".join(itertools.islice(lines_from(2010), 5)))
        c.wait_frames(10)
        partial = c.wait_notice("undecodable")
    assert partial.data["line"] == "0,2,-2" and partial.detail.startswith("partial first line")
    assert bridge.counters.undecodable == 1 and bridge.counters.frames == 10


def test_losing_the_port_counts_the_frame_it_cut(bridges: Any, loadcells: Profile) -> None:
    c = Collector()
    dev = PtyDevice()
    try:
        bridge = started(bridges, dev.path, loadcells, c)
        frames = blockframe_bytes(0, 4)
        sent = b"".join(frames)[:-20]
        dev.write(sent)
        c.wait(lambda: len(c.raw) == len(sent))
        assert bridge.counters.held_bytes == 20
    finally:
        dev.close()
    lost = c.wait_notice("disconnect")
    assert lost.data["cut_bytes"] == 20
    got = bridge.counters
    assert (got.frames, got.cut_bytes, got.held_bytes, got.undecodable) == (3, 20, 0, 0)
    counted(got)


def test_garbage_to_the_end_is_counted_when_the_bridge_stops(bridges: Any) -> None:
    """The load-cell simulator read with the mat's binary profile: bytes, no frames, and the
    one run of garbage counted and said when the bridge stops (not only at 1 MiB)."""
    c = Collector()
    bridge = started(bridges, "sim://loadcells?protocol=lines&rate=80&seed=1",
                     load_profile("sim-mat"), c)
    c.wait(lambda: len(c.raw) >= 3000)
    before = bridge.counters
    assert before.frames == 0 and before.undecodable_bytes == before.bytes
    bridge.stop()
    run = c.wait_notice("undecodable")
    got = bridge.counters
    assert (got.frames, got.undecodable, got.cut_bytes, got.held_bytes) == (0, 1, 0, 0)
    assert run.data["bytes"] == got.bytes == got.undecodable_bytes >= 3000
