"""Lab Streaming Layer: what an LSL inlet on this machine receives is what sotlog pushed."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.errors import ExportError
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import load_profile
from sensing.calibration.conversion import Conversion
from sensing.recording.conversion import LiveConversion


def loopback_lsl() -> None:
    """Keep LSL discovery on this machine (liblsl reads the file at its first use)."""
    if "LSLAPICFG" not in os.environ:
        cfg = Path(tempfile.gettempdir()) / "sotlog-tests-lsl-loopback.cfg"
        cfg.write_text("[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n")
        os.environ["LSLAPICFG"] = str(cfg)


loopback_lsl()
pylsl = pytest.importorskip("pylsl")

from sensing.outputs.lsl import LslOutlet  # noqa: E402

TIMEOUT = 10.0


def _inlet(source_id: str) -> Any:
    streams = pylsl.resolve_byprop("source_id", source_id, timeout=TIMEOUT)
    assert streams, f"no LSL stream {source_id} found"
    inlet = pylsl.StreamInlet(streams[0], max_buflen=60, recover=False)
    inlet.open_stream(timeout=TIMEOUT)
    return inlet


def _pull(inlet: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pull until ``n`` samples came, waiting on the inlet (bounded by TIMEOUT)."""
    samples: list[Any] = []
    stamps: list[float] = []
    deadline = time.monotonic() + TIMEOUT
    while len(samples) < n and time.monotonic() < deadline:
        s, t = inlet.pull_chunk(timeout=0.5)
        samples += s
        stamps += t
    return np.array(samples), np.array(stamps)


@pytest.fixture
def outlet() -> Any:
    profile = load_profile("sim-loadcells")
    live = LiveConversion(profile, {"tare": {"left": 100.0}})
    out = LslOutlet(profile, f"test-{uuid.uuid4()}", live, units="kgf",
                    session={"uuid": "u-1", "id": 7})
    yield out
    out.close()


def test_forces_and_markers_arrive_as_pushed(outlet: LslOutlet) -> None:
    forces = _inlet(outlet.source_id)
    markers = _inlet(f"{outlet.source_id}/events")
    assert outlet._outlet.wait_for_consumers(TIMEOUT)
    assert outlet._markers.wait_for_consumers(TIMEOUT)

    rng = np.random.default_rng(3)
    raw = rng.integers(-50_000, 400_000, (200, 2)).astype(np.float64)
    host = time.monotonic() + np.arange(200) / 80.0
    calls = []
    for a in range(0, 200, 50):  # as the bridge thread hands blocks over
        t = time.perf_counter()
        outlet.on_frames(FrameBlock.build(raw[a:a + 50], host[a:a + 50]))
        calls.append(time.perf_counter() - t)
    outlet.push_event("placed", "left block", host_time=host[10])
    outlet.on_notice(Notice(host[20], "undecodable", "line 'x?'"))
    outlet.push_event("removed", host_time=host[30])

    got, stamps = _pull(forces, 200)
    expected, units = Conversion.from_profile(
        outlet.profile, {"tare": {"left": 100.0}}).apply(raw, "kgf")
    assert units == ["kgf", "kgf"]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(stamps, host + outlet.clock_offset, rtol=0, atol=1e-9)
    assert max(calls) < 0.05  # listener callbacks only queue

    texts, mstamps = _pull(markers, 3)
    assert [t[0] for t in texts] == ["placed: left block", "undecodable: line 'x?'", "removed"]
    np.testing.assert_allclose(mstamps, host[[10, 20, 30]] + outlet.clock_offset, atol=1e-9)
    assert outlet.samples_pushed == 200 and outlet.markers_pushed == 3

    info = forces.info(timeout=TIMEOUT)
    assert (info.type(), info.channel_count(), info.nominal_srate()) == ("Force", 2, 80.0)
    ch = info.desc().child("channels").child("channel")
    labels = []
    while not ch.empty():
        labels.append((ch.child_value("label"), ch.child_value("unit")))
        ch = ch.next_sibling()
    assert labels == [("left", "kgf"), ("right", "kgf")]
    acq = info.desc().child("acquisition")
    assert (acq.child_value("session_uuid"), acq.child_value("session_id")) == ("u-1", "7")
    assert float(acq.child_value("host_clock_offset")) == outlet.clock_offset
    assert markers.info(timeout=TIMEOUT).type() == "Markers"


def test_clock_offset_maps_host_time_to_lsl_time(outlet: LslOutlet) -> None:
    before = pylsl.local_clock()
    mapped = outlet.lsl_time(time.monotonic())
    after = pylsl.local_clock()
    assert before - 1e-3 <= mapped <= after + 1e-3


def test_session_marker_carries_the_exports_time_anchor(outlet: LslOutlet) -> None:
    """The ``session`` marker holds what every export's sidecar holds (uuid, t0_host, UTC), at
    LSL time t0_host + offset: rows at session time t are at LSL time t0_host + t + offset."""
    import json

    markers = _inlet(f"{outlet.source_id}/events")
    assert outlet._markers.wait_for_consumers(TIMEOUT)
    t0 = time.monotonic()
    outlet.session_started("u-1", t0, "2024-03-05T10:00:00.000+00:00")
    texts, stamps = _pull(markers, 1)
    kind, _, anchor = texts[0][0].partition(": ")
    assert kind == "session"
    assert json.loads(anchor) == {"uuid": "u-1", "t0_host": t0,
                                  "started_utc": "2024-03-05T10:00:00.000+00:00"}
    assert stamps[0] == pytest.approx(t0 + outlet.clock_offset, abs=1e-9)


def test_close_is_idempotent_and_later_frames_are_ignored() -> None:
    mat = load_profile("sim-mat")
    out = LslOutlet(mat, f"test-{uuid.uuid4()}", LiveConversion(mat))
    assert out.channel_names == ["total"]
    out.close()
    out.close()
    out.on_frames(FrameBlock.build(np.zeros((1, 32, 32), np.uint16), time.monotonic()))
    assert out.samples_pushed == 0
    assert out.not_pushed == {"samples": 1, "markers": 0}  # counted, not silently dropped


def test_a_recording_through_the_bridge_streams_every_frame() -> None:
    from firmware_bridge.bridge import Bridge

    profile = load_profile("sim-loadcells")
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=20"
    out = LslOutlet(profile, url, LiveConversion(profile))
    inlet = _inlet(url)
    assert out._outlet.wait_for_consumers(TIMEOUT)
    seen: list[FrameBlock] = []
    enough = threading.Event()

    class Collect:
        def on_frames(self, block: FrameBlock) -> None:
            seen.append(block)
            if sum(len(b) for b in seen) >= 400:
                enough.set()

    bridge = Bridge(url, profile)
    collect = Collect()
    bridge.add_listener(out)
    bridge.add_listener(collect)
    bridge.start()
    try:
        assert enough.wait(TIMEOUT)
    finally:
        bridge.stop()
    block = FrameBlock.concat(seen)
    try:
        got, stamps = _pull(inlet, len(block))
    finally:
        out.close()
    assert len(got) == len(block)
    expected, _ = Conversion.from_profile(profile).apply(block.values, "N")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(stamps, block.host_time + out.clock_offset, atol=1e-9)


def test_without_pylsl_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pylsl", None)
    with pytest.raises(ExportError, match=r"pip install 'sotlog\[lsl\]'"):
        profile = load_profile("sim-loadcells")
        LslOutlet(profile, "x", LiveConversion(profile))
