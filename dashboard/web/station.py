"""The station: the one device the dashboard has open, the live hub on it, and the recording."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from dashboard.web.calibrating import CalibrationRun, calibration_summary, run_spec
from dashboard.web.live import LiveHub
from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import CalibrationError, SotlogError
from firmware_bridge.frames import Counters
from firmware_bridge.ports import describe_port
from firmware_bridge.profiles import Profile, load_profile
from sensing.calibration.tare import tare_offsets
from sensing.metadata import PERSON_EVENT_KINDS, MetadataError, SessionMeta

if TYPE_CHECKING:
    from sensing.calibration.fit import Calibration
    from sensing.outputs.lsl import LslOutlet
    from sensing.store.sessions import Store
    from sensing.store.writer import Recorder

TARE_SECONDS = 1.0
TARE_GRACE_S = 2.0  # how much longer than the tare window to wait for frames to arrive
TEXT_EVENT_KINDS = ("marker", "note")  # these say nothing without their text


class StateError(SotlogError):
    """An action that does not fit what the station is doing now (e.g. Stop while idle)."""


class Station:
    """Owns the bridge, the live hub and the recorder; every route acts through it."""

    def __init__(self, store: Store, ring_seconds: float = 150.0, lsl: bool = False) -> None:
        self.store = store
        self.hub = LiveHub(ring_seconds)
        self.lsl_wanted = lsl
        self.lsl: LslOutlet | None = None
        self.calibration: dict[str, Any] = {}  # the calibrations in use (a conversion dict)
        self.calibrating: CalibrationRun | None = None
        self._counters_at_start: Counters | None = None
        self._status_cache: tuple[float, dict[str, Any]] | None = None
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
            calibration = self._newest_calibration(profile)
            outlet = self._lsl_outlet(profile, url, calibration)
            bridge = Bridge(url, profile)
            if not retry:
                try:
                    bridge.open_once()  # a port that is not there fails here, in one line
                except SotlogError:
                    if outlet is not None:
                        outlet.close()
                    raise
            self.calibration = calibration
            self.hub.configure(profile, calibration)
            self.tare_data = None
            bridge.add_listener(self.hub)
            if outlet is not None:
                bridge.add_listener(outlet)
            bridge.start()
            self.bridge, self.profile, self.url, self.lsl = bridge, profile, url, outlet
        return self.status()

    def _lsl_outlet(self, profile: Profile, url: str, calibration: dict[str, Any]
                    ) -> LslOutlet | None:
        """With ``--lsl``: the device's forces and events on Lab Streaming Layer."""
        if not self.lsl_wanted:
            return None
        from sensing.outputs.lsl import LslOutlet

        return LslOutlet(profile, f"sotlog:{url}", calibration)

    def _newest_calibration(self, profile: Profile) -> dict[str, Any]:
        """The conversion dict of the newest load-cell calibration of each channel, as
        ``sotlog record`` uses it; a mat's live view reads with its profile alone."""
        if profile.matrix is not None:
            return {}
        from sensing.calibration.fit import with_calibrations
        from sensing.store.calibrations import CalibrationStore

        chosen = CalibrationStore(self.store).latest(profile.name, profile.channel_names,
                                                    kind="loadcell")
        return with_calibrations({}, chosen) if chosen else {}

    def disconnect(self) -> None:
        with self._lock:
            if self.recorder is not None:
                raise StateError("stop the recording before closing the device")
            self._close_bridge()
            self.hub.configure(None)

    def _close_bridge(self) -> None:
        if self.calibrating is not None and self.calibrating.running:
            self.calibrating.cancel()
        if self.bridge is not None:
            self.bridge.remove_listener(self.hub)
            self.bridge.stop()
        if self.lsl is not None:
            self.lsl.close()
        self.bridge = self.profile = self.url = self.lsl = None

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
        block = self.hub.frames_since(start)
        names = [c.name for c in self.hub.channels]
        try:
            data = tare_offsets(block, names)  # sensing.calibration.fit's rule, as `record --tare`
        except CalibrationError as err:
            raise StateError(str(err)) from err
        data.update(host_time_start=start, host_time_end=time.monotonic())
        if self.hub.mat is not None:  # a mat's live values are its block totals, not raw
            data["unit"] = self.hub.channels[0].unit
        text = f"{seconds:g} s mean, {data['frames']} frames"
        with self._lock:
            self.hub.set_tare(np.array([data["offsets"][n] for n in names]))
            self.tare_data = data
            self.hub.add_event("tare", text, data, start)
            recorder, sid = self.recorder, self.session_id
        if self.lsl is not None:
            self.lsl.push_event("tare", text, start)
        if recorder is not None and sid is not None:
            await asyncio.to_thread(self._store_tare, recorder, sid, text, data)
        return data

    def _store_tare(self, recorder: Recorder, sid: int, text: str, data: dict[str, Any]) -> None:
        """A tare during a recording: the event, and the session's conversion from now on."""
        from sensing.calibration.tare import with_tare

        recorder.add_event("tare", text, data, host_time=data["host_time_start"])
        if self.profile is not None and self.profile.matrix is None:
            self.store.set_conversion(sid, with_tare(self.store.session(sid).info.conversion,
                                                     data))

    # -- recording --------------------------------------------------------------------------

    def start(self, meta: SessionMeta) -> int:
        """Create a session with ``meta`` and record everything the device sends into it."""
        from sensing.store.writer import Recorder

        with self._lock:
            if self.recorder is not None:
                raise StateError(f"already recording session {self.session_id}; stop it first")
            if self.calibrating is not None and self.calibrating.running:
                raise StateError("a calibration is running: finish or cancel it first")
            bridge = self._connected_bridge()
            assert self.profile is not None and self.url is not None
            self._check_channels(meta)
            t0 = time.monotonic()
            tare = self.tare_data
            # Load-cell sessions keep the calibrations and tare in their conversion; a mat's
            # live block values are a view only, so for a mat the tare is kept as an event.
            conversion = dict(self.calibration)
            if tare is not None and self.profile.matrix is None:
                from sensing.calibration.tare import with_tare

                conversion = with_tare(conversion, tare)
            sid = self.store.create_session(meta, self.profile, port=self.url,
                                            device=describe_port(self.url), t0_host=t0,
                                            conversion=conversion)
            rec = Recorder(self.store, sid)
            if tare is not None:
                rec.add_event("tare", "tare taken before the start", tare,
                              host_time=tare["host_time_start"])
            self._counters_at_start = bridge.counters
            bridge.add_listener(rec)
            self.recorder, self.session_id, self.meta, self.t0_host = rec, sid, meta, t0
            self.hub.start_counting(t0)
        if self.lsl is not None:
            self.lsl.push_event("marker", f"session {sid} started", t0)
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
            event = self.hub.add_event(kind, text, data)
        if self.lsl is not None:
            self.lsl.push_event(kind, text)
        return event

    def stop(self, status: str = "complete") -> int:
        """End the recording; the session keeps the bridge's counters."""
        with self._lock:
            rec, sid = self.recorder, self.session_id
            if rec is None or sid is None:
                raise StateError("nothing is being recorded")
            if self.bridge is not None:
                self.bridge.remove_listener(rec)
            counters = self.session_counters()
            rec.close(status=status, counters=counters or None)
            self.recorder = self.session_id = self.meta = self.t0_host = None
            self._counters_at_start = None
            self.hub.start_counting(None)
        if self.lsl is not None:
            self.lsl.push_event("marker", f"session {sid} stopped")
        return sid

    def session_counters(self) -> dict[str, int]:
        """The bridge's counters since this recording started (empty when not recording).

        The bridge counts from when the device was opened; a session keeps only its own share.
        """
        base, bridge = self._counters_at_start, self.bridge
        if base is None or bridge is None:
            return {}
        now, before = bridge.counters.as_dict(), base.as_dict()
        return {k: now[k] - before.get(k, 0) for k in now}

    def close(self) -> None:
        """Shut down: a recording still running is closed as interrupted, the device released."""
        with self._lock:
            if self.recorder is not None:
                with contextlib.suppress(SotlogError):
                    self.stop(status="interrupted")
            self._close_bridge()

    # -- what the page shows ----------------------------------------------------------------

    def shared_status(self, max_age_s: float = 0.02) -> dict[str, Any]:
        """``status()``, computed at most once per ``max_age_s`` for all the live viewers."""
        now = time.monotonic()
        cached = self._status_cache
        if cached is None or now - cached[0] > max_age_s:
            cached = self._status_cache = (now, self.status())
        return cached[1]

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
            "matrix": (list(self.profile.frame_shape)
                       if self.profile is not None and self.profile.matrix is not None else None),
            "error": str(bridge.error) if bridge and bridge.error else self.last_error,
            "rate_hz": round(bridge.frame_rate, 2) if bridge else 0.0,
            "counters": bridge.counters.as_dict() if bridge else {},
            "session_counters": self.session_counters(),
            "tared": hub.tare is not None,
            "calibration": calibration_summary(self.calibration),
            "calibrating": self.calibrating.state if self.calibrating is not None else None,
            "lsl": ({"source_id": self.lsl.source_id, "samples": self.lsl.samples_pushed,
                     "error": self.lsl.error} if self.lsl is not None else None),
            "recording": recording,
        }

    # -- calibration ------------------------------------------------------------------------

    def start_calibration(self, spec_args: dict[str, Any], mode: str, scripted: bool
                          ) -> CalibrationRun:
        """Start a calibration run on the open device (not while recording)."""
        with self._lock:
            if self.recorder is not None:
                raise StateError("stop the recording before calibrating")
            if self.calibrating is not None and self.calibrating.running:
                raise StateError("a calibration is already running; cancel it first")
            bridge = self._connected_bridge()
            assert self.profile is not None and self.url is not None
            spec = run_spec(self.profile, self.url, describe_port(self.url), spec_args, mode)
            run = CalibrationRun(bridge, spec, mode, scripted,
                                 self._equilibration(mode), spec_args.get("note", ""))
            self.calibrating = run
            run.start()
        return run

    def _equilibration(self, mode: str) -> Calibration | None:
        """A mat's total is weighted by its newest equilibration (as `sotlog calibrate`)."""
        from sensing.store.calibrations import CalibrationStore

        if mode != "total" or self.profile is None:
            return None
        return CalibrationStore(self.store).latest_equilibration(self.profile.name)

    def current_calibration(self) -> CalibrationRun:
        if self.calibrating is None:
            raise StateError("no calibration has been started")
        return self.calibrating

    def save_calibration(self) -> list[int]:
        """Store the fitted records; the live view (and the next session) use them from now."""
        from sensing.store.calibrations import CalibrationStore

        run = self.current_calibration()
        if run.state != "fitted":
            raise StateError(f"the calibration is {run.state}; only a fitted one can be saved")
        for cal in run.records:
            cal.note = run.note
        ids = CalibrationStore(self.store).add(run.records)
        run.saved_ids, run.state = ids, "saved"
        with self._lock:
            if self.profile is not None and self.recorder is None:
                self.calibration = self._newest_calibration(self.profile)
                self.hub.configure(self.profile, self.calibration)
                self.tare_data = None  # the hub starts afresh: tare again with the new fit
        return ids
