"""Lab Streaming Layer: forces as an LSL stream and events as an LSL marker stream, live.

An ``LslOutlet`` is a bridge listener that lives as long as one recorded session. Its callbacks
only queue and return; its own thread converts each frame block to force through the same live
conversion the session is stored with (a tare taken mid-stream changes the streamed forces from
the frame it changes the stored ones), and pushes it stamped with the block's host arrival times
moved into LSL's clock (``pylsl.local_clock``, also monotonic; the offset is measured once).
The stream description carries the session's uuid and id, and ``host_clock_offset`` (LSL time
minus host monotonic time), so that an exported row at session time ``time_s`` is at LSL time
``t0_host + time_s + host_clock_offset`` (``t0_host`` is in every export's sidecar). When the
session starts, ``session_started`` pushes a ``session`` marker carrying its uuid, ``t0_host``
and UTC start, stamped at ``t0_host``. Needs ``sotlog[lsl]``.
"""

from __future__ import annotations

import importlib
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

import firmware_bridge
from firmware_bridge.errors import ExportError
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import Profile
from sensing.outputs.exports import FORMAT_VERSION
from sensing.plainjson import dumps

FORCE_TYPE = "Force"
MARKER_TYPE = "Markers"
CLOSE_TIMEOUT_S = 5.0
CLOSE_LINGER_S = 0.5


def _pylsl() -> Any:
    try:
        return importlib.import_module("pylsl")
    except ImportError as err:
        raise ExportError(f"Lab Streaming Layer needs {err.name or 'pylsl'}; install it with: "
                          "pip install 'sotlog[lsl]'") from err


@dataclass(frozen=True)
class _Marker:
    host_time: float
    text: str


class _Close:
    pass


class ForceSource(Protocol):
    """What converts frames to force: ``sensing.recording.conversion.LiveConversion``."""

    def forces(self, block: FrameBlock, units: str = "N") -> tuple[list[str], np.ndarray,
                                                                       list[str]]: ...


def available() -> None:
    """Nothing when pylsl can be loaded; else the ExportError naming the extra to install."""
    _pylsl()


def marker_text(kind: str, text: str) -> str:
    """A marker string: the event kind, then ``: text`` when there is text."""
    return f"{kind}: {text}" if text else kind


class LslOutlet:
    """Publishes a device's forces and events on Lab Streaming Layer while it records."""

    def __init__(self, profile: Profile, source_id: str, forces: ForceSource, units: str = "N",
                 *, name: str | None = None, session: dict[str, Any] | None = None) -> None:
        pylsl = _pylsl()
        self.profile = profile
        self.source_id = source_id
        self.units = units
        self.session = dict(session or {})
        self._forces = forces
        names, _, unit_list = forces.forces(FrameBlock.empty(profile.frame_shape), units)
        self.channel_names, self.channel_units = names, unit_list
        self.samples_pushed = 0
        self.markers_pushed = 0
        self.error: str | None = None  # why pushing stopped, if it did
        # What reached the outlet but was not pushed (after close, or after an error).
        self.not_pushed = {"samples": 0, "markers": 0}
        base = name or f"sotlog {profile.name}"
        rate = float(profile.nominal_rate_hz or pylsl.IRREGULAR_RATE)
        # Host monotonic time -> LSL time; both clocks are monotonic, so one offset holds.
        self.clock_offset = pylsl.local_clock() - time.monotonic()
        info = pylsl.StreamInfo(base, FORCE_TYPE, len(self.channel_names), rate,
                                pylsl.cf_double64, source_id)
        self._describe(info, with_channels=True)
        markers = pylsl.StreamInfo(f"{base} events", MARKER_TYPE, 1, pylsl.IRREGULAR_RATE,
                                   pylsl.cf_string, f"{source_id}/events")
        self._describe(markers, with_channels=False)
        self.force_info, self.marker_info = info, markers
        self._outlet = pylsl.StreamOutlet(info)
        self._markers = pylsl.StreamOutlet(markers)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"sotlog-lsl-{source_id}",
                                        daemon=True)
        self._thread.start()

    def _describe(self, info: Any, with_channels: bool) -> None:
        desc = info.desc()
        desc.append_child_value("manufacturer", "sotlog")
        acq = desc.append_child("acquisition")
        acq.append_child_value("software", f"sotlog {firmware_bridge.__version__}")
        acq.append_child_value("format_version", FORMAT_VERSION)
        acq.append_child_value("profile", self.profile.name)
        acq.append_child_value("time_base", "host arrival time of each frame, in LSL local_clock")
        acq.append_child_value("host_clock_offset", repr(self.clock_offset))
        for key, value in self.session.items():
            acq.append_child_value(f"session_{key}", str(value))
        if with_channels:
            channels = desc.append_child("channels")
            for ch_name, unit in zip(self.channel_names, self.channel_units, strict=True):
                ch = channels.append_child("channel")
                ch.append_child_value("label", ch_name)
                ch.append_child_value("unit", unit)
                ch.append_child_value("type", FORCE_TYPE)

    # -- listener side: queue and return --------------------------------------------------

    def _put(self, item: FrameBlock | _Marker) -> None:
        with self._lock:
            if not self._closed:
                self._queue.put(item)
                return
            self._count_lost(item)

    def _count_lost(self, item: FrameBlock | _Marker) -> None:
        if isinstance(item, _Marker):
            self.not_pushed["markers"] += 1
        else:
            self.not_pushed["samples"] += len(item)

    def on_raw(self, data: bytes, host_time: float) -> None:
        """Raw bytes are not streamed."""

    def on_frames(self, block: FrameBlock) -> None:
        if len(block):
            self._put(block)

    def on_notice(self, notice: Notice) -> None:
        self._put(_Marker(notice.host_time, marker_text(notice.kind, notice.detail)))

    def push_event(self, kind: str, text: str = "", host_time: float | None = None) -> None:
        """A person's event (placed, removed, marker, note) as a marker, stamped now."""
        stamp = time.monotonic() if host_time is None else float(host_time)
        self._put(_Marker(stamp, marker_text(kind, text)))

    def session_started(self, uuid: str, t0_host: float, started_utc: str) -> None:
        """A ``session`` marker at ``t0_host``: the uuid, ``t0_host`` and UTC start that every
        export of the session carries, as compact JSON."""
        anchor = {"uuid": uuid, "t0_host": t0_host, "started_utc": started_utc}
        self._put(_Marker(float(t0_host), marker_text("session", dumps(anchor))))

    def wait_for_consumers(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until something (LabRecorder) subscribes to both streams."""
        deadline = time.monotonic() + timeout
        return all(o is not None and o.wait_for_consumers(max(0.0, deadline - time.monotonic()))
                   for o in (self._outlet, self._markers))

    def lsl_time(self, host_time: float | np.ndarray) -> Any:
        """A host monotonic time in LSL's clock."""
        return host_time + self.clock_offset

    def close(self) -> None:
        """Push what is queued, then take both streams off the network."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_Close())
        self._thread.join(CLOSE_TIMEOUT_S)
        # liblsl sends from its own threads and has no flush: while someone listens, give it a
        # moment to deliver the last samples and the stop marker before the streams go.
        if any(o is not None and o.have_consumers() for o in (self._outlet, self._markers)):
            time.sleep(CLOSE_LINGER_S)
        self._outlet = None
        self._markers = None

    # -- pushing thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _Close):
                return
            if self.error is not None:
                self._count_lost(item)
                continue
            try:
                self._push(item)
            except (RuntimeError, ValueError, TypeError) as err:
                self.error = f"LSL stream {self.source_id} stopped: {err}"
                self._count_lost(item)

    def _push(self, item: FrameBlock | _Marker) -> None:
        if isinstance(item, _Marker):
            self._markers.push_sample([item.text], float(self.lsl_time(item.host_time)))
            self.markers_pushed += 1
            return
        _, values, _ = self._forces.forces(item, self.units)
        stamps = self.lsl_time(item.host_time)
        self._outlet.push_chunk(np.ascontiguousarray(values), stamps.tolist())
        self.samples_pushed += len(item)
