"""Detection while a session records: the rule fed the frames as the bridge reads them.

A bridge listener, like the recorder: it gathers the blocks the bridge hands on, and once they
reach ``BATCH_S`` past the frames it last ran on, converts them with the device's live
conversion (a tare is a zero segment from its host time on, so converting later gives each frame
the zero it had when it came), sums the total the rule reads, and hands each event it finds to
``found`` on the bridge thread, which only queues it. Events come ``hold_s`` after the crossing
(placed, removed) or ``settle_s`` after the steady span began (settled), and at most ``BATCH_S``
later than the frame that settles them: within about a second of the change for placed and
removed. The rule finds the same events however the frames are split.

A load cell at 80 Hz hands on a frame a read; running the rule on each cost about 260 µs, 2 % of
a core beside the 2-3 % the rest of the recording takes (bench/cpu.py). Gathered, it runs about
ten times a second.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from firmware_bridge.frames import FrameBlock
from sensing.metrics.detect import UNIT, Detected, Detector, DetectRule, detection_total
from sensing.recording.conversion import LiveConversion

BATCH_S = 0.1  # host seconds of frames gathered before the rule runs on them


class LiveDetection:
    """Runs the detection rule on the frames of one recording, from its start on."""

    def __init__(self, live: LiveConversion, t0_host: float, body_weight_kg: float | None,
                 found: Callable[[Detected], None], rule: DetectRule | None = None) -> None:
        self.live = live
        self.t0_host = t0_host
        self.body_weight_kg = body_weight_kg
        self.found = found
        self.rule = rule
        self.detector: Detector | None = None
        self._lock = threading.Lock()
        self._shape = live.reading.profile.frame_shape
        self._gathered: list[FrameBlock] = []  # frames the rule has not run on yet
        self._ran_to = -math.inf  # host time of the last frame it ran on

    def on_frames(self, block: FrameBlock) -> None:
        if not len(block) or block.frame_shape != self._shape:
            return  # frames of another shape: not stored as samples, so never judged afterwards
        with self._lock:
            self._gathered.append(block)
            if block.host_time[-1] - self._ran_to < BATCH_S:
                return
            events = self._run()
        for event in events:
            self.found(event)

    def _run(self) -> list[Detected]:
        """The rule over the frames gathered (the lock held); the events it found."""
        if not self._gathered:
            return []
        block = FrameBlock.concat(self._gathered)
        self._gathered = []
        self._ran_to = float(block.host_time[-1])
        keep = block.host_time >= self.t0_host
        if not keep.any():
            return []
        if not keep.all():
            block = block.take(keep)
        names, values, units = self.live.forces(block, UNIT)
        total = detection_total(names, values, units)
        if self.detector is None:
            self.detector = Detector(self.rule, units[0] if units else UNIT,
                                     self.body_weight_kg, self.t0_host)
        return self.detector.feed(block.host_time, total)

    def finish(self) -> None:
        """The recording ends: the frames gathered are judged, and a session shorter than the
        noise window."""
        with self._lock:
            events = self._run()
            events += self.detector.finish() if self.detector is not None else []
        for event in events:
            self.found(event)
