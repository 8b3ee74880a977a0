"""The station: the one device the dashboard has open, the live hub on it, and the recording."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from dashboard.live import LiveHub
from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import SotlogError
from firmware_bridge.ports import list_ports
from firmware_bridge.profiles import Profile, load_profile
from sensing.model import PERSON_EVENT_KINDS, MetadataError, SessionMeta

if TYPE_CHECKING:
    from sensing.recorder import Recorder
    from sensing.store import Store

TARE_SECONDS = 1.0
TARE_GRACE_S = 2.0  # how much longer than the tare window to wait for frames to arrive
TEXT_EVENT_KINDS = ("marker", "note")  # these say nothing without their text


class StateError(SotlogError):
    """An action that does not fit what the station is doing now (e.g. Stop while idle)."""


class Station:
    """Owns the bridge, the live hub and the recorder; every route acts through it."""

    def __init__(self, store: Store, ring_seconds: float = 150.0) -> None:
        self.store = store
        self.hub = LiveHub(ring_seconds)
        self._lock = threading.RLock()
        self.bridge: Bridge | None = None
        self.profile: Profile | None = None
        self.url: str | None = None
        self.recorder: Recorder | None = None
        self.session_id: int | None = None
        self.meta: SessionMeta | None = None
        self.t0_host: float | None = None
        self.tare_data: dict[str, Any] | None = None
        self.last_error: str | None = None

    # -- the device -------------------------------------------------------------------------

    def connect(self, url: str, profile_name: str, retry: bool = False) -> dict[str, Any]:
        """Open ``url`` read with ``profile_name``; the previous device (if any) is closed.

        A port that cannot be opened is a DeviceError at once, unless ``retry``: then the bridge
        keeps trying in the background (a device given at start may be plugged in later).
        """
        self.last_error = None
        profile = load_profile(profile_name)
        with self._lock:
            if self.recorder is not None:
                raise StateError("stop the recording before changing the device")
            self._close_bridge()
            bridge = Bridge(url, profile)
            if not retry:
                bridge.open_once()  # a port that is not there fails here, in one clear line
            self.hub.configure(profile)
            self.tare_data = None
            bridge.add_listener(self.hub)
            bridge.start()
            self.bridge, self.profile, self.url = bridge, profile, url
        return self.status()

    def disconnect(self) -> None:
        with self._lock:
            if self.recorder is not None:
                raise StateError("stop the recording before closing the device")
            self._close_bridge()
            self.hub.configure(None)

    def _close_bridge(self) -> None:
        if self.bridge is not None:
            self.bridge.remove_listener(self.hub)
            self.bridge.stop()
        self.bridge = self.profile = self.url = None

    def _connected_bridge(self) -> Bridge:
        if self.bridge is None:
            raise StateError("no device is open: choose a port and a profile first")
        return self.bridge

    # -- tare -------------------------------------------------------------------------------

    async def tare(self, seconds: float = TARE_SECONDS) -> dict[str, Any]:
        """Average each channel over the next ``seconds`` with the blocks unloaded; zero on it."""
        self._connected_bridge()
        start = time.monotonic()
        deadline = start + seconds + TARE_GRACE_S
        while (self.hub.latest_time() or 0.0) < start + seconds:
            if time.monotonic() > deadline:
                raise StateError(f"no data arrived from the device during the {seconds:g} s tare")
            await asyncio.sleep(0.05)
        self.hub.set_tare(None)
        means, frames = self.hub.mean_since(start)
        if frames == 0 or not np.all(np.isfinite(means)):
            raise StateError("the tare window held no usable frames; nothing was zeroed")
        names = [c.name for c in self.hub.channels]
        data = {
            "offsets": {n: float(m) for n, m in zip(names, means, strict=True)},
            "unit": "raw", "window_s": seconds, "frames": frames,
            "host_time_start": start, "host_time_end": time.monotonic(),
        }
        text = f"{seconds:g} s mean, {frames} frames"
        with self._lock:
            self.hub.set_tare(means)
            self.tare_data = data
            self.hub.add_event("tare", text, data, start)
            recorder, sid = self.recorder, self.session_id
        if recorder is not None and sid is not None:
            await asyncio.to_thread(self._store_tare, recorder, sid, text, data)
        return data

    def _store_tare(self, recorder: Recorder, sid: int, text: str, data: dict[str, Any]) -> None:
        """A tare during a recording: the event, and the session's conversion from now on."""
        recorder.add_event("tare", text, data, host_time=data["host_time_start"])
        if self.profile is not None and self.profile.matrix is None:
            conversion = dict(self.store.session(sid).info.conversion)
            conversion["tare"] = data["offsets"]
            self.store.set_conversion(sid, conversion)

    # -- recording --------------------------------------------------------------------------

    def start(self, meta: SessionMeta) -> int:
        """Create a session with ``meta`` and record everything the device sends into it."""
        from sensing.recorder import Recorder

        with self._lock:
            if self.recorder is not None:
                raise StateError(f"already recording session {self.session_id}; stop it first")
            bridge = self._connected_bridge()
            assert self.profile is not None and self.url is not None
            self._check_channels(meta)
            t0 = time.monotonic()
            tare = self.tare_data
            # Load-cell sessions keep the tare in their conversion; a mat's halves are a live
            # view only, so for a mat the tare is kept as an event.
            conversion = ({"tare": tare["offsets"]}
                          if tare is not None and self.profile.matrix is None else None)
            sid = self.store.create_session(meta, self.profile, port=self.url,
                                            device=self._describe(self.url), t0_host=t0,
                                            conversion=conversion)
            rec = Recorder(self.store, sid)
            if tare is not None:
                rec.add_event("tare", "tare taken before the start", tare,
                              host_time=tare["host_time_start"])
            bridge.add_listener(rec)
            self.recorder, self.session_id, self.meta, self.t0_host = rec, sid, meta, t0
            self.hub.start_counting(t0)
        return sid

    def _check_channels(self, meta: SessionMeta) -> None:
        known = [c.name for c in self.hub.channels]
        used = [b.channel for b in meta.blocks if b.channel]
        for name in used:
            if name not in known:
                raise MetadataError(f"block channel {name!r} is not a channel of this device "
                                    f"(channels: {', '.join(known) or 'none'})")
        if len(set(used)) != len(used):
            raise MetadataError("each channel can measure only one block")

    def add_event(self, kind: str, text: str = "", data: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
        """A mark typed by a person during the recording; it reaches the store and the viewers."""
        if kind not in PERSON_EVENT_KINDS:
            raise MetadataError(f"event kind must be one of {', '.join(PERSON_EVENT_KINDS)}, "
                                f"not {kind!r}")
        text = text.strip()
        if kind in TEXT_EVENT_KINDS and not text:
            raise MetadataError(f"a {kind} needs some text")
        with self._lock:
            if self.recorder is None:
                raise StateError("events are marked during a recording: press Start first")
            self.recorder.add_event(kind, text, data or {})
            return self.hub.add_event(kind, text, data)

    def stop(self, status: str = "complete") -> int:
        """End the recording; the session keeps the bridge's counters."""
        with self._lock:
            rec, sid = self.recorder, self.session_id
            if rec is None or sid is None:
                raise StateError("nothing is being recorded")
            if self.bridge is not None:
                self.bridge.remove_listener(rec)
            counters = self.bridge.counters if self.bridge is not None else None
            rec.close(status=status, counters=counters)
            self.recorder = self.session_id = self.meta = self.t0_host = None
            self.hub.start_counting(None)
        return sid

    def close(self) -> None:
        """Shut down: a recording still running is closed as interrupted, the device released."""
        with self._lock:
            if self.recorder is not None:
                with contextlib.suppress(SotlogError):
                    self.stop(status="interrupted")
            self._close_bridge()

    # -- what the page shows ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        bridge, hub = self.bridge, self.hub
        recording = None
        if self.session_id is not None and self.t0_host is not None:
            recording = {
                "session_id": self.session_id,
                "t_start": round(self.t0_host - hub.epoch, 4),
                "meta": self.meta.as_dict() if self.meta else None,
            }
        return {
            "state": bridge.state if bridge else "closed",
            "url": self.url,
            "profile": self.profile.name if self.profile else None,
            "error": str(bridge.error) if bridge and bridge.error else self.last_error,
            "rate_hz": round(bridge.frame_rate, 2) if bridge else 0.0,
            "counters": bridge.counters.as_dict() if bridge else {},
            "tared": hub.tare is not None,
            "recording": recording,
        }

    @staticmethod
    def _describe(url: str) -> str:
        for p in list_ports():
            if p.device == url:
                return p.description
        return url
