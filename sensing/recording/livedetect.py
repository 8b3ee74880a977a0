"""Detection while a session records: the rule fed each block of frames as the bridge reads it.

A bridge listener, like the recorder: it converts the block with the device's live conversion
(so a tare taken now applies as it does to what is shown and stored), sums the total the rule
reads, and hands each event it finds to ``found`` on the bridge thread, which only queues it.
Events come ``hold_s`` after the crossing (placed, removed) or ``settle_s`` after the steady
span began (settled): within about a second of the change for placed and removed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from firmware_bridge.frames import FrameBlock
from sensing.metrics.detect import UNIT, Detected, Detector, DetectRule, detection_total
from sensing.recording.conversion import LiveConversion


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

    def on_frames(self, block: FrameBlock) -> None:
        keep = block.host_time >= self.t0_host
        if not keep.any():
            return
        if not keep.all():
            block = block.take(keep)
        names, values, units = self.live.forces(block, UNIT)
        total = detection_total(names, values, units)
        with self._lock:
            if self.detector is None:
                self.detector = Detector(self.rule, units[0] if units else UNIT,
                                         self.body_weight_kg, self.t0_host)
            events = self.detector.feed(block.host_time, total)
        for event in events:
            self.found(event)

    def finish(self) -> None:
        """The recording ends: a session shorter than the noise window is judged now."""
        with self._lock:
            events = self.detector.finish() if self.detector is not None else []
        for event in events:
            self.found(event)
