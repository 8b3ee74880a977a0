"""Steady readings from a live device: the settle rule, and waiting for a steady window.

A window of ``window_s`` seconds is *settled* on a channel when its readings only scatter as the
sensor's own noise does: the window's SD is at most ``sd_ratio`` times the sample-to-sample noise
(the robust spread of successive differences, divided by sqrt 2, which neither a step nor a slow
creep moves), and the straight-line change across the window is within what that noise alone
could make. ``sd_floor`` (raw units) accepts a window whose SD is that small whatever the noise
estimate says, for sensors whose noise is not white, and for a mat's dead band, whose zeros have
no spread at all until a rare reading pokes above the noise threshold. Windows are timed on the
device clock when it sends one (so a simulator running faster than real time settles on its own
time), else on the host's arrival times.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firmware_bridge.errors import CalibrationError
from firmware_bridge.frames import FrameBlock, Notice

Reduce = Callable[[np.ndarray], np.ndarray]  # raw frame values -> (n, k) settle channels
MAD_TO_SD = 1.4826  # the median absolute deviation of normal noise times this is its SD


@dataclass(frozen=True)
class SettleRule:
    """When a window counts as steady; stored with each calibration."""

    window_s: float = 1.0
    sd_ratio: float = 1.5
    sd_floor: float = 0.0
    min_frames: int = 8

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Window:
    """The latest window of readings and how steady it is, per settle channel."""

    mean: np.ndarray
    sd: np.ndarray
    noise: np.ndarray  # sample-to-sample noise estimate
    change: np.ndarray  # straight-line change across the window
    settled: np.ndarray  # bool per channel
    n: int
    span_s: float
    clock: str  # "device" or "host"
    frames: np.ndarray  # the window's raw frame values, for callers that need whole frames
    t_first: float = float("nan")  # first and last frame's time on ``clock``
    t_last: float = float("nan")

    @property
    def all_settled(self) -> bool:
        return bool(self.settled.all())


def assess(x: np.ndarray, t: np.ndarray, rule: SettleRule) -> tuple[np.ndarray, ...]:
    """``(mean, sd, noise, change, settled)`` of the window ``x`` ``(n, k)`` at times ``t``."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    d = np.diff(x, axis=0)
    mad = np.median(np.abs(d - np.median(d, axis=0)), axis=0)
    noise = MAD_TO_SD * mad / np.sqrt(2.0)  # robust: a step, even at the window's edge, is ignored
    tc = t - t.mean()
    denom = float(np.dot(tc, tc))
    slope = (tc @ (x - mean)) / denom if denom > 0 else np.zeros_like(mean)
    change = np.abs(slope) * float(t.max() - t.min())
    # White noise alone moves a fitted line's end-to-end change by about noise*sqrt(12/n).
    change_limit = np.maximum(3.0 * noise * np.sqrt(12.0 / max(n, 1)), rule.sd_floor)
    settled = ((sd <= np.maximum(rule.sd_ratio * noise, rule.sd_floor)) & (change <= change_limit)
               & (n >= rule.min_frames))
    return mean, sd, noise, change, settled


class FrameTap:
    """A bridge listener that hands frame blocks to a waiting loop through a queue."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[FrameBlock] = queue.SimpleQueue()
        self.notices: dict[str, int] = {}
        self.discarded = 0  # frames that arrived before a point was asked for

    def on_raw(self, data: bytes, host_time: float) -> None:
        pass

    def on_frames(self, block: FrameBlock) -> None:
        self._queue.put(block)

    def on_notice(self, notice: Notice) -> None:
        self.notices[notice.kind] = self.notices.get(notice.kind, 0) + 1

    def get(self, timeout: float) -> FrameBlock | None:
        try:
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def drain(self) -> int:
        """Discard what has queued so far (readings from before a weight was placed)."""
        n = 0
        while True:
            try:
                n += len(self._queue.get_nowait())
            except queue.Empty:
                break
        self.discarded += n
        return n


class Settler:
    """Keeps the last stretch of frames and judges its newest ``window_s`` seconds."""

    def __init__(self, rule: SettleRule, reduce: Reduce) -> None:
        self.rule = rule
        self.reduce = reduce
        self._blocks: list[FrameBlock] = []

    def feed(self, block: FrameBlock) -> Window | None:
        """Add frames; the newest full window once ``window_s`` seconds are held, else None."""
        if len(block):
            self._blocks.append(block)
        if not self._blocks:
            return None
        joined = FrameBlock.concat(self._blocks)
        t, clock = _clock(joined)
        newest = float(t[-1])
        if newest - float(t[0]) < self.rule.window_s * (1.0 - 1e-9):
            self._blocks = [joined]
            return None
        keep = t > newest - self.rule.window_s
        first = int(np.argmax(keep))
        # Keep one window back as well, so the next call still spans a full window.
        back = int(np.searchsorted(t, newest - 2 * self.rule.window_s))
        self._blocks = [joined.take(slice(back, None))]
        frames = joined.values[first:]
        x = np.asarray(self.reduce(frames), dtype=np.float64)
        tw = t[first:]
        mean, sd, noise, change, settled = assess(x, tw, self.rule)
        return Window(mean, sd, noise, change, settled, len(tw), float(tw[-1] - tw[0]), clock,
                      frames, float(tw[0]), float(tw[-1]))


def _clock(block: FrameBlock) -> tuple[np.ndarray, str]:
    """The device clock when every frame has one and it runs forward, else host arrival time."""
    dt = block.device_time
    if np.all(np.isfinite(dt)) and (len(dt) < 2 or np.all(np.diff(dt) >= 0)):
        return dt, "device"
    return block.host_time, "host"


def wait_steady(tap: FrameTap, reduce: Reduce, rule: SettleRule, *, timeout: float,
                differs_from: np.ndarray | None = None, min_change: np.ndarray | None = None,
                on_wait: Callable[[Window | None], None] | None = None,
                wait_every: float = 1.0) -> Window:
    """Read frames from ``tap`` until a window is settled on every settle channel.

    With ``differs_from``, the window's mean must also differ from it by more than
    ``min_change`` on every channel (the next scripted load has arrived). ``on_wait`` is called
    about every ``wait_every`` wall seconds with the latest window while waiting. A
    CalibrationError after ``timeout`` wall seconds, saying how far from steady the reading was.
    """
    settler = Settler(rule, reduce)
    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + wait_every
    last: Window | None = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise CalibrationError(_not_steady(last, rule, timeout, differs_from is not None))
        block = tap.get(min(deadline - now, 0.2))
        if block is not None:
            window = settler.feed(block)
            if window is not None:
                last = window
                moved = True
                if differs_from is not None:
                    need = np.zeros_like(window.mean) if min_change is None else min_change
                    moved = bool(np.all(np.abs(window.mean - differs_from) > need))
                if window.all_settled and moved:
                    return window
        if on_wait is not None and time.monotonic() >= next_report:
            on_wait(last)
            next_report = time.monotonic() + wait_every


def _not_steady(last: Window | None, rule: SettleRule, timeout: float, moving: bool) -> str:
    if last is None:
        return (f"no {rule.window_s:g} s window of readings arrived within {timeout:g} s: "
                "is the device sending?")
    if last.all_settled and moving:
        return (f"the reading did not change to the next load within {timeout:g} s "
                f"(still {_fmt(last.mean)})")
    worst = int(np.argmax(last.sd / np.maximum(last.noise, 1e-12)))
    return (f"the reading did not settle within {timeout:g} s (last {rule.window_s:g} s: "
            f"sd {last.sd[worst]:.1f}, sample-to-sample noise {last.noise[worst]:.1f}, change "
            f"{last.change[worst]:.1f} raw units); if it is steady, accept that much spread with "
            f"--settle-sd {max(1.0, float(last.sd[worst]) * 1.2):.0f}")


def _fmt(values: np.ndarray) -> str:
    return ", ".join(f"{v:.1f}" for v in values)
