"""The live hub: a bridge listener that keeps recent frames in a ring, and the per-viewer stream.

The bridge thread only appends to numpy arrays under a short lock (never waits on a viewer).
Each WebSocket viewer runs its own asyncio task that, every ~35 ms, copies what is new since its
own cursor and sends one batch (the messages are dashboard.web.livewire's). A viewer that falls
behind the ring skips ahead and is told how many frames it missed; a viewer that stops reading
is dropped. Recording never waits for either.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dashboard.web.livemat import MatLive
from dashboard.web.livewire import StatusDelta, encode_mat
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import Profile
from sensing.calibration.conversion import Conversion
from sensing.mat.blocks import BLOCK_REGIONS as MAT_BLOCKS
from sensing.mat.blocks import CHANNELS as MAT_CHANNELS
from sensing.metrics.onblocks import LiveOnBlocks, total_load
from sensing.plainjson import plain
from sensing.recording.conversion import Reading

SEND_TIMEOUT_S = 2.0  # a viewer that cannot take one batch in this time is dropped
MAX_EVENTS = 1000
ReadingFn = Callable[[], Reading | None]


@dataclass(frozen=True)
class LiveChannel:
    """One trace on the live page: its name, display unit ("N" for forces), and block side."""

    name: str
    unit: str
    block: str | None


def live_channels(profile: Profile, conversion: dict[str, Any] | None = None
                  ) -> list[LiveChannel]:
    """The traces for a profile: one per load cell, or a mat's block regions and its total.

    A load cell's unit is N when its profile or its calibration (in ``conversion``) gives force.
    """
    if profile.matrix is not None:
        unit = MatLive.unit_for(profile, conversion)
        return [LiveChannel(name, unit, name if name in MAT_BLOCKS else None)
                for name in MAT_CHANNELS]
    units = Conversion.from_profile(profile, conversion).units("N")
    return [LiveChannel(ch.name, u, ch.block)
            for ch, u in zip(profile.channels, units, strict=True)]


class LiveHub:
    """Bridge listener holding the last ``ring_seconds`` of frames and every event, for viewers.

    Load cells are kept raw and read through the device's live conversion by each frame's time
    (``reading``), so a tare shows from the frame it applies to, as it is stored. A mat is kept
    as its block forces, computed on arrival by the same function a stored session uses.
    """

    def __init__(self, ring_seconds: float = 150.0) -> None:
        self.ring_seconds = ring_seconds
        self._lock = threading.Lock()
        self._event_ids = itertools.count(1)
        self.epoch = time.monotonic()
        self.generation = 0
        self.configure(None, lambda: None)

    def configure(self, profile: Profile | None, reading: ReadingFn = lambda: None) -> None:
        """Start afresh for a device (or none): new channels, empty ring, the clock reset.

        ``reading()`` gives the device's conversion in force now (None without a device).
        """
        current = reading()
        channels = live_channels(profile, current.conversion if current else None) \
            if profile else []
        rate = (profile.nominal_rate_hz if profile else None) or 100.0
        cap = int(min(max(self.ring_seconds * max(rate * 2.0, 200.0), 1000), 2_000_000))
        mat = MatLive(profile) if profile and profile.matrix is not None else None
        with self._lock:
            self.profile = profile
            self.channels = channels
            self.mat = mat
            self.reading = reading
            self._names = [c.name for c in channels]
            self._units = [c.unit for c in channels]
            self.on_blocks = LiveOnBlocks(channels[-1].unit if mat else (
                self._units[0] if channels else "N"))
            self._t = np.zeros(cap, np.float64)
            self._v = np.zeros((cap, len(channels)), np.float64)
            self.capacity = cap
            self.written = 0
            self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
            self.epoch = time.monotonic()
            self.generation += 1
            self.wrong_shape = 0
            # the newest mat message, made once for every viewer: ((mat, block, regions), bytes)
            self.mat_made: tuple[tuple[Any, ...], bytes | None] | None = None

    # -- bridge listener (bridge thread: short, never waits) --------------------------------

    def on_frames(self, block: FrameBlock) -> None:
        mat, current = self.mat, self.reading()
        if mat is not None and block.frame_shape == (mat.matrix.rows, mat.matrix.cols):
            values = mat.reduce(block, current)
        elif mat is None and block.values.ndim == 2:
            values = block.values.astype(np.float64, copy=False)
        else:
            values = np.empty((len(block), 0))
        if values.shape[1] != len(self.channels):
            self.wrong_shape += len(block)  # counted and shown; the recorder keeps them
            return
        times = block.host_time
        self.on_blocks.add(times, total_load(self._display(values, times, current),
                                             self._names, self._units))
        n = len(times)
        with self._lock:
            cap = self.capacity
            if n > cap:
                times, values = times[-cap:], values[-cap:]
                self.written += n - cap
                n = cap
            start = self.written % cap
            first = min(n, cap - start)
            self._t[start:start + first] = times[:first]
            self._v[start:start + first] = values[:first]
            if first < n:
                self._t[:n - first] = times[first:]
                self._v[:n - first] = values[first:]
            self.written += n

    def on_notice(self, notice: Notice) -> None:
        self.add_event(notice.kind, notice.detail, notice.data, notice.host_time)

    # -- events, loaded time ----------------------------------------------------------------

    def add_event(self, kind: str, text: str = "", data: dict[str, Any] | None = None,
                  host_time: float | None = None, source: str = "person") -> dict[str, Any]:
        """Keep an event for the viewers; it appears on their traces with the next batch."""
        t = time.monotonic() if host_time is None else host_time
        event = {"id": next(self._event_ids), "t": round(t - self.epoch, 4), "kind": kind,
                 "text": text, "data": plain(data or {}), "source": source}
        with self._lock:
            self.events.append(event)
        return event

    def frames_since(self, host_time: float) -> FrameBlock:
        """The frames (raw channel values) that arrived at or after ``host_time``."""
        t, v, _, _ = self._copy(0)
        keep = t >= host_time
        return FrameBlock.build(v[keep], t[keep])

    def latest_time(self) -> float | None:
        with self._lock:
            if not self.written:
                return None
            return float(self._t[(self.written - 1) % self.capacity])

    def start_counting(self, host_time: float | None) -> None:
        """Count time on the blocks from host_time (None stops counting)."""
        self.on_blocks.start(host_time)
        if self.mat is not None:
            self.mat.start_session(host_time)

    @property
    def loaded_s(self) -> float:
        return self.on_blocks.loaded_s

    def _display(self, values: np.ndarray, times: np.ndarray, current: Reading | None
                 ) -> np.ndarray:
        """Stored values to display values: newtons for forces, else the device's unit."""
        if self.mat is not None or current is None:
            return values  # a mat's values are its block forces already
        return current.cells.apply(values, "N", times)[0]

    # -- the read side (viewer tasks) -------------------------------------------------------

    def _copy(self, cursor: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """(times, raw values, new cursor, frames skipped) from ``cursor`` to the newest."""
        with self._lock:
            end = self.written
            oldest = max(0, end - self.capacity)
            idx = np.arange(max(cursor, oldest), end) % self.capacity
            return self._t[idx], self._v[idx], end, max(0, oldest - cursor)

    def read_since(self, cursor: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """(seconds since epoch, values in display units, new cursor, frames skipped)."""
        t, raw, end, skipped = self._copy(cursor)
        return t - self.epoch, self._display(raw, t, self.reading()), end, skipped

    def cursor_for(self, seconds_back: float) -> int:
        """The cursor of the oldest frame no older than ``seconds_back`` before the newest."""
        with self._lock:
            oldest = max(0, self.written - self.capacity)
            if self.written == oldest:
                return self.written
            idx = np.arange(oldest, self.written) % self.capacity
            newest = self._t[(self.written - 1) % self.capacity]
            inside = np.nonzero(self._t[idx] >= newest - seconds_back)[0]
            return oldest + int(inside[0]) if len(inside) else self.written

    def events_since(self, event_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e["id"] > event_id]

    def hello(self) -> dict[str, Any]:
        return {"type": "hello", "generation": self.generation,
                "channels": [{"name": c.name, "unit": c.unit, "block": c.block}
                             for c in self.channels]}


def _finite_or_null(column: np.ndarray) -> list[float | None]:
    """JSON has no NaN: a value that is not a number goes out as null (and is drawn as a gap)."""
    values: list[float | None] = column.tolist()
    finite = np.isfinite(column)
    if finite.all():
        return values
    return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]


MAT_INTERVAL_S = 0.2  # the heat map is redrawn at most 5 times a second


def mat_message(hub: LiveHub) -> bytes | None:
    """The newest mat frame with its block regions as one binary message (livewire); else None.

    Made once for all the viewers: again only when a newer block or new regions came.
    """
    mat = hub.mat
    if mat is None:
        return None
    regions = mat.refresh()
    key = (mat, mat.last, regions)
    made = hub.mat_made
    if made is not None and all(a is b for a, b in zip(made[0], key, strict=True)):
        return made[1]
    frame = mat.frame()
    message = encode_mat(*frame) if frame is not None else None
    hub.mat_made = (key, message)
    return message


def live_status(hub: LiveHub, status: dict[str, Any]) -> dict[str, Any]:
    """The station's status with the hub's own: time on the blocks, frames of the wrong shape."""
    return {**status, "loaded_s": round(hub.loaded_s, 2), "loaded": hub.on_blocks.loaded,
            "wrong_shape": hub.wrong_shape}


async def stream_to_viewer(send: Callable[[str | bytes], Any], hub: LiveHub,
                           status: Callable[[], dict[str, Any]], interval_s: float = 0.035,
                           history_s: float = 120.0,
                           send_timeout_s: float = SEND_TIMEOUT_S, mat: bool = True) -> None:
    """Every ``interval_s``, send one batch of what is new, until the viewer goes away or stops
    reading: samples, events, and the status keys that changed (``StatusDelta``); a mat's
    newest frame, as a binary message, at most every MAT_INTERVAL_S (unless ``mat`` is False).
    A beat with nothing new sends nothing.

    ``send`` takes text (JSON) or bytes. A send that takes longer than ``send_timeout_s`` raises
    TimeoutError: the viewer is dropped.
    """
    generation = -1
    cursor = event_id = mat_sent = 0
    mat_at = 0.0
    delta = StatusDelta()
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        if hub.generation != generation:
            generation = hub.generation
            cursor, event_id = hub.cursor_for(history_s), 0
            delta = StatusDelta()  # after a hello the whole status goes again
            await asyncio.wait_for(send(json.dumps(hub.hello())), send_timeout_s)
        t, values, cursor, skipped = hub.read_since(cursor)
        events = hub.events_since(event_id)
        now = time.monotonic()
        batch: dict[str, Any] = {
            "type": "batch",
            "t": np.round(t, 4).tolist(),
            "values": {c.name: _finite_or_null(values[:, i]) for i, c in enumerate(hub.channels)},
        }
        if events:
            event_id = events[-1]["id"]
            batch["events"] = events
        if skipped:
            batch["skipped"] = skipped
        changed = delta.changes(live_status(hub, status()), now)
        if changed:
            batch["status"] = changed
        if len(t) or events or skipped or changed:
            await asyncio.wait_for(send(json.dumps(batch)), send_timeout_s)
        live_mat = hub.mat if mat else None
        if (live_mat is not None and live_mat.frames_seen != mat_sent
                and now - mat_at >= MAT_INTERVAL_S):
            mat_sent, mat_at = live_mat.frames_seen, now
            message = mat_message(hub)
            if message is not None:
                await asyncio.wait_for(send(message), send_timeout_s)
        # A steady beat (not "interval after the send"), so no sample waits longer than one
        # interval; a viewer that fell behind starts a new beat rather than sending in a burst.
        due = max(due + interval_s, loop.time())
        await asyncio.sleep(due - loop.time())
