"""Synthetic arrival times of an imported file's reads, and the gate its notices pass.

Both work a read at a time (``advance``, ``add`` and ``tick``) and a block of reads at once
(``arrivals``, ``replay``), with the same results: the block forms are the read-at-a-time rules
run as vector operations, in the same order of floating-point steps. Every time is a whole
number of microseconds, as a live recording's arrival times are, so the store keeps them as
integers (``frames.whole_microseconds``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from firmware_bridge.frames import Notice
from firmware_bridge.frames import whole_microseconds as us

NOTICE_WINDOW_S = 1.0  # as the bridge: at most one notice per kind per second of session time


@dataclass
class ArrivalClock:
    """Synthetic arrival times (session seconds) of reads, from the frames each one completes."""

    mode: str  # "device_time" or "uniform"
    rate_hz: float
    now: float = 0.0
    frames: int = 0
    _first_device: float | None = None
    _last_device: float | None = None
    _shift: float = 0.0
    backward_steps: int = 0

    def advance(self, device_time: np.ndarray) -> float:
        """The arrival of a read that completed frames with these device times (maybe none)."""
        n = int(device_time.size)
        self.frames += n
        if not n:
            return self.now
        if self.mode == "uniform":
            self.now = max(self.now, float(us((self.frames - 1) / self.rate_hz)))
            return self.now
        finite = device_time[np.isfinite(device_time)]
        if not finite.size:  # frames without a clock among clocked ones: one frame period each
            self.now = float(us(self.now + n / self.rate_hz))
            return self.now
        last = float(finite[-1])
        if self._first_device is None:
            self._first_device = self._last_device = float(finite[0])
        assert self._last_device is not None
        if last < self._last_device:  # the device clock went back (a restart): keep going on
            self.backward_steps += 1
            self._shift += self._last_device - last + n / self.rate_hz
        self._last_device = last
        self.now = max(self.now, float(us(last - self._first_device + self._shift)))
        return self.now

    def arrivals(self, reads: np.ndarray, device_time: np.ndarray, n_reads: int) -> np.ndarray:
        """``advance`` for ``n_reads`` reads in a row: the arrival of each, given the read
        (0 to n_reads - 1, in order) that completed each frame and the frames' device times."""
        counts = np.bincount(reads, minlength=n_reads) if len(reads) else np.zeros(n_reads, int)
        has = np.flatnonzero(counts)
        if not has.size:
            return np.full(n_reads, self.now)
        ends = np.cumsum(counts)  # one past each read's last frame
        if self.mode == "uniform":
            total = self.frames + ends
            x = us((total[has] - 1) / self.rate_hz)
            self.frames = int(total[-1])
        elif not np.isfinite(device_time).all():  # the rule for clockless frames: read by read
            return np.array([self.advance(device_time[e - c:e])
                             for c, e in zip(counts.tolist(), ends.tolist(), strict=True)])
        else:
            self.frames += len(device_time)
            # a frame a read (a clean log): the reads' last frames are the frames, in order
            last = (device_time if len(device_time) == has.size == n_reads
                    else device_time[ends[has] - 1])
            if self._first_device is None:
                self._first_device = self._last_device = float(device_time[0])
            assert self._last_device is not None
            prev: np.ndarray = np.concatenate(([self._last_device], last[:-1]))
            back = last < prev
            if back.any():
                step = np.where(back, prev - last + counts[has] / self.rate_hz, 0.0)
                shift = np.cumsum(np.concatenate(([self._shift], step)))[1:]
                x = us(last - self._first_device + shift)
                self.backward_steps += int(back.sum())
                self._shift = float(shift[-1])
            else:  # (the shift so far, added alike to every frame)
                x = us(last - self._first_device + self._shift)
            self._last_device = float(last[-1])
        y = np.full(n_reads + 1, -np.inf)
        y[0] = self.now
        if has.size == n_reads:
            y[1:] = x
        else:
            y[has + 1] = x
        times = np.maximum.accumulate(y)[1:]
        self.now = float(times[-1])
        return times


class NoticeGate:
    """Passes the first notice of a kind, folds the rest of its window into one summary."""

    def __init__(self, emit: Callable[[Notice], None]) -> None:
        self.emit = emit
        self._held: dict[str, tuple[Notice, int, float]] = {}
        self._last: dict[str, float] = {}

    def add(self, notice: Notice) -> None:
        kind = notice.kind
        held = self._held.get(kind)
        if held is None and notice.host_time - self._last.get(kind, -1e18) >= NOTICE_WINDOW_S:
            self._last[kind] = notice.host_time
            self.emit(replace(notice, data={**notice.data, "count": 1}))
            return
        first, count, _ = held if held else (notice, 0, notice.host_time)
        self._held[kind] = (first, count + 1, notice.host_time)

    def tick(self, now: float, force: bool = False) -> None:
        for kind in list(self._held):
            if force or now - self._last.get(kind, -1e18) >= NOTICE_WINDOW_S:
                self._release(kind, now)

    def _release(self, kind: str, now: float) -> None:
        first, count, _ = self._held.pop(kind)
        more = f" (and {count - 1} more)" if count > 1 else ""
        self.emit(replace(first, detail=first.detail + more,
                          data={**first.data, "count": count, "first_host_time": first.host_time}))
        self._last[kind] = now

    def replay(self, notices: list[tuple[int, Notice]], times: np.ndarray) -> None:
        """``add`` and ``tick`` as a block of reads arriving at ``times`` (non-decreasing) gives
        them: each notice, with the read it came in, added in order, the gate ticked after
        every read."""
        done = 0
        for read, notice in notices:
            self._ticks(times[done:read])
            done = max(done, read)
            self.add(notice)
        self._ticks(times[done:])

    def _ticks(self, times: np.ndarray) -> None:
        """``tick`` at each of ``times`` in turn (a kind is released at most once: nothing is
        added meanwhile)."""
        if not self._held or not len(times):
            return
        due = []
        for order, kind in enumerate(self._held):
            last = self._last.get(kind, -1e18)
            k = int(np.searchsorted(times, last + NOTICE_WINDOW_S))
            while k > 0 and times[k - 1] - last >= NOTICE_WINDOW_S:
                k -= 1
            while k < len(times) and not times[k] - last >= NOTICE_WINDOW_S:
                k += 1
            if k < len(times):
                due.append((k, order, kind))
        for k, _, kind in sorted(due):
            self._release(kind, float(times[k]))
