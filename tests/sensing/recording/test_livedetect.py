"""Live detection gathers the frames a bridge hands on one read at a time and runs the rule on
them about ten times a second: the same events as the frames all at once, none later than
``BATCH_S`` after the frame that settles it, and the frames still gathered judged at the end."""

from __future__ import annotations

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from firmware_bridge.sim.loadcells import LoadcellDevice
from firmware_bridge.sim.options import parse_sim_url
from sensing.metrics.detect import Detected
from sensing.recording.conversion import LiveConversion
from sensing.recording.livedetect import BATCH_S, LiveDetection

T0 = 1000.0
RATE = 80


def frames(seconds: float) -> list[FrameBlock]:
    """A simulated 4-cell body session as a bridge hands it on at 80 Hz: a frame a read."""
    _, config = parse_sim_url(f"sim://loadcells?blocks=4&rate={RATE}&seed=1&session={seconds:g}")
    device = LoadcellDevice(config)  # type: ignore[arg-type]
    us, counts = device.samples(0, int(seconds * RATE))
    t = T0 + (us - device.boot_us) / 1e6
    return [FrameBlock.build(counts[i:i + 1].astype(np.float64), t[i:i + 1], t[i:i + 1] - T0,
                             np.arange(i, i + 1)) for i in range(t.size)]


class CountedConversion(LiveConversion):
    """The live conversion, counting the blocks it converts: one per run of the rule."""

    runs = 0

    def forces(self, block: FrameBlock, units: str = "N") -> tuple[list[str], np.ndarray,
                                                                       list[str]]:
        self.runs += 1
        return super().forces(block, units)


def detect(blocks: list[FrameBlock],
           conversion: LiveConversion | None = None) -> tuple[list[Detected], list[float]]:
    """The events found, and for each the host time of the newest frame handed on when it was."""
    found: list[Detected] = []
    when: list[float] = []
    now = [T0]

    def told(event: Detected) -> None:
        found.append(event)
        when.append(now[0])

    conversion = conversion or LiveConversion(load_profile("sim-loadcells-4"))
    live = LiveDetection(conversion, T0, None, told)
    for b in blocks:
        now[0] = float(b.host_time[-1])
        live.on_frames(b)
    live.finish()
    return found, when


def test_a_frame_a_read_finds_what_all_at_once_finds_and_soon() -> None:
    reads = frames(40.0)
    counted = CountedConversion(load_profile("sim-loadcells-4"))
    one_by_one, when = detect(reads, counted)
    at_once, _ = detect([FrameBlock.concat(reads)])
    # 3,200 reads in 40 s: the rule ran on gathered frames, about every BATCH_S
    assert 40.0 / BATCH_S * 0.9 <= counted.runs <= 40.0 / BATCH_S + 2
    assert [e.kind for e in one_by_one] == ["placed", "settled", "removed"]
    assert [(e.kind, e.host_time, e.data) for e in one_by_one] == [
        (e.kind, e.host_time, e.data) for e in at_once]
    for event, told_at in zip(one_by_one, when, strict=True):
        could_say = event.host_time + event.data["found_s"] - event.data["detected_s"]
        assert could_say <= told_at <= could_say + BATCH_S + 1.5 / RATE


def test_the_frames_still_gathered_are_judged_at_the_end() -> None:
    """Frames cut off just after the one that settles ``removed``, gathered but not yet run on
    (the rule waits for BATCH_S of them): the end judges them, and ``removed`` is told then."""
    reads = frames(40.0)
    whole, _ = detect(reads)
    removed = whole[-1]
    assert removed.kind == "removed"
    could_say = removed.host_time + removed.data["found_s"] - removed.data["detected_s"]
    told: list[Detected] = []
    counted = CountedConversion(load_profile("sim-loadcells-4"))
    live = LiveDetection(counted, T0, None, told.append)
    for b in reads:
        runs = counted.runs
        live.on_frames(b)
        if b.host_time[0] >= could_say and counted.runs == runs:
            break  # the frame that settles it (or one after), gathered and not yet run on
    assert [e.kind for e in told] == ["placed", "settled"]
    live.finish()
    assert [(e.kind, e.host_time, e.data) for e in told] == [
        (e.kind, e.host_time, e.data) for e in whole]


def test_frames_of_another_shape_are_left_out() -> None:
    """Frames of another shape than the profile's are not stored as samples (the recorder says
    so), so the rule does not judge them either, and the frames around them still reach it."""
    reads = frames(40.0)
    odd = FrameBlock.build(np.zeros((1, 3)), reads[5].host_time + 1e-4, reads[5].device_time,
                           np.arange(1))
    plain, _ = detect(reads)
    with_odd, _ = detect([*reads[:6], odd, *reads[6:]])
    assert [(e.kind, e.host_time) for e in with_odd] == [(e.kind, e.host_time) for e in plain]
