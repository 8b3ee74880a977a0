"""Mats in the loop at full rate: a 16x16 M1616 stream and a 48x48 blockframe stream, 100 frames
a second through a real pseudo-terminal, recorded by ``sotlog record``: every frame kept.

The device starts sending once ``sotlog record`` has the port open; each frame's first value
says which frame it is (the stream's frames all differ there)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.protocols.blockframe import encode_frame
from firmware_bridge.protocols.m1616 import encode_m1616
from sensing.store.sessions import Store
from tests.firmware_bridge.test_firmware_loop import holds_open, wait_until
from tests.ptydevice import PtyDevice

FPS = 100.0
SECONDS = 3.0


def m1616_frames(n: int) -> tuple[np.ndarray, list[bytes]]:
    values = ((np.arange(n)[:, None, None] * 3 + np.arange(256).reshape(16, 16)) % 4096)
    values = values.astype(np.uint16)
    return values, [encode_m1616(v, b"\x01\x02\x03\x04") for v in values]


def blockframe_frames(n: int) -> tuple[np.ndarray, list[bytes]]:
    values = ((np.arange(n)[:, None, None] * 7 + np.arange(48 * 48).reshape(48, 48)) % 4096)
    values = values.astype(np.uint16)
    return values, [encode_frame(v, k, 10_000 * k) for k, v in enumerate(values)]


STREAMS: dict[str, tuple[str, Callable[[int], tuple[np.ndarray, list[bytes]]]]] = {
    "m1616-16x16": ("m1616", m1616_frames),
    "blockframe-48x48": ("sim-mat-48", blockframe_frames),
}


def send_at_rate(dev: PtyDevice, frames: list[bytes], fps: float) -> threading.Thread:
    """Frame k is written at t0 + k / fps (on the schedule, not after the previous write)."""

    def run() -> None:
        pause = threading.Event()
        t0 = time.monotonic()
        for k, frame in enumerate(frames):
            pause.wait(max(0.0, t0 + k / fps - time.monotonic()))
            dev.write(frame)
        dev.done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("stream", list(STREAMS))
def test_sotlog_record_keeps_every_frame_of_a_mat_at_100_fps(stream: str,
                                                               tmp_path: Path) -> None:
    profile, make = STREAMS[stream]
    values, frames = make(int(SECONDS * FPS))
    store = tmp_path / "s.sqlite3"
    with PtyDevice() as dev:
        rec = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "record", "--port",
                                dev.path, "--profile", profile, "--store", str(store)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: holds_open(rec.pid, dev.path), 30, "sotlog record opened the port")
            started = time.monotonic()
            send_at_rate(dev, frames, FPS).join(timeout=SECONDS * 3)
            sent_for = time.monotonic() - started
            assert dev.done.is_set()
            time.sleep(0.5)  # the last frames cross the pseudo-terminal
            rec.send_signal(signal.SIGINT)
            out, err = rec.communicate(timeout=30)
        finally:
            if rec.poll() is None:
                rec.kill()
    assert rec.returncode == 0, err
    assert sent_for < SECONDS * 1.2, f"the device sent {len(frames)} frames in {sent_for:.2f} s"
    session = Store.open(store).session(int(out.strip()))
    got = session.frames()
    # The session begins at Start, a moment after the port opened (what came before is its
    # prelude): from its first frame on, every frame sent is there, in order, to the last.
    first = int(np.flatnonzero(values[:, 0, 0] == got.values[0, 0, 0])[0])
    assert first < FPS, f"the session began {first} frames into the stream"
    assert len(got) == len(frames) - first
    np.testing.assert_array_equal(got.values, values[first:])
    shown = json.loads(subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "show", "last", "--json", "--store", str(store)],
        capture_output=True, text=True, timeout=60).stdout)
    counters = shown["counters"]
    assert counters["frames"] == len(frames) - first
    assert counters["undecodable_bytes"] == counters["crc_errors"] == counters["seq_gaps"] == 0
