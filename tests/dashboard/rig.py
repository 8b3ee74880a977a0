"""A two-cell load-cell rig on a pseudo-terminal: blockframe frames whose counts follow the
weight a test places, as the reference firmware sends them (profile ``sotlog-loadcells``)."""

from __future__ import annotations

import threading
import time

import numpy as np

from firmware_bridge.protocols.blockframe import encode_frame
from tests.ptydevice import PtyDevice

OFFSETS = np.array([41_000.0, 38_500.0])  # raw counts with nothing on the cells
GAINS = np.array([21_000.0, 19_400.0])  # counts per kg on each cell
NOISE = 40.0  # counts RMS
RATE_HZ = 80.0


class WeightRig:
    """Plays the rig from a thread; ``place(kg)`` changes the load on both cells."""

    def __init__(self, seed: int = 3) -> None:
        self.device = PtyDevice()
        self.path = self.device.path
        self.kg = 0.0
        self._rng = np.random.default_rng(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.frames = 0

    def counts(self, kg: float) -> np.ndarray:
        return OFFSETS + GAINS * kg

    def place(self, kg: float) -> None:
        self.kg = float(kg)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            due = start + self.frames / RATE_HZ
            if time.monotonic() < due:  # a device sends at its own pace
                self._stop.wait(due - time.monotonic())
                continue
            values = np.rint(self.counts(self.kg) + self._rng.normal(0, NOISE, 2)).astype(np.int32)
            try:
                self.device.write(encode_frame(values, self.frames, int(self.frames * 12_500)))
            except OSError:
                return
            self.frames += 1

    def __enter__(self) -> WeightRig:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.device.close()
