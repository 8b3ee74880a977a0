"""The recording service: one device and the life of each session recorded from it.

Every face records through this one object: ``sotlog record``, the dashboard's station, and
Lab Streaming Layer with either. The life of a session runs::

    connect(url, profile)        the device opens; its calibration is chosen (findings)
    tare(seconds)                a zero on still, unloaded blocks, or refused (TareRefused)
    start(meta)                  the session is made and everything the device sends is kept
    mark(kind, text)             a person's events; a tare now changes the zero from now on
    stop(status, reason)         the session ends with why; the end checks are stored

Faces only parse input and render what comes back. They never create sessions, choose
calibrations, apply tares or run checks themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import MetadataError, SotlogError, StateError
from firmware_bridge.frames import Counters
from firmware_bridge.ports import describe_port
from firmware_bridge.profiles import Profile, load_profile
from firmware_bridge.words import decoded_nothing
from sensing.calibration.conversion import zero_segments
from sensing.calibration.tare import with_tare
from sensing.metadata import SessionMeta
from sensing.metrics import visits
from sensing.metrics.checks import Finding
from sensing.metrics.detect import Detected
from sensing.outputs import lsl
from sensing.plainjson import plain
from sensing.recording.conversion import LiveConversion
from sensing.recording.livedetect import LiveDetection
from sensing.recording.setup import (
    CalibrationChoice,
    check_blocks,
    choose_calibration,
    device_channels,
)
from sensing.recording.taring import end_checks, person_event, take_tare
from sensing.store.pg import background
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

EventHook = Callable[[dict[str, Any]], None]
log = logging.getLogger("sensing.recording")


@dataclass
class Recording:
    """The session being recorded now."""

    session_id: int
    uuid: str
    t0_host: float
    meta: SessionMeta
    recorder: Recorder
    counters_at_start: Counters
    detection: LiveDetection | None = None


@dataclass
class Ended:
    """How a session ended and what it kept."""

    session_id: int
    uuid: str
    status: str
    reason: str
    duration_s: float
    frames: int
    events: int
    raw_bytes: int
    counters: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    store_error: str | None = None

    @property
    def decoded_nothing(self) -> str | None:
        """The red line when bytes came and none made a frame; None otherwise."""
        return decoded_nothing(self.counters)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["findings"] = [f.as_dict() for f in self.findings]
        d["decoded_nothing"] = self.decoded_nothing
        return d



class RecordingService:
    """Owns the open device, its live conversion and the recording; thread-safe."""

    def __init__(self, store: Store, *, face: str, lsl_stream: bool = False,
                 lsl_units: str = "N") -> None:
        self.store = store
        self.face = face
        self.lsl_stream = lsl_stream
        self.lsl_units = lsl_units
        if lsl_stream:
            lsl.available()  # a missing pylsl is said now, before anything is made
        self.bridge: Bridge | None = None
        self.profile: Profile | None = None
        self.url: str | None = None
        self.device = ""
        self.live: LiveConversion | None = None  # one per device: set anew, never replaced
        self.outlet: lsl.LslOutlet | None = None
        self.reserved_uuid: str | None = None  # the next session's, when a face knows it early
        self.calibration: dict[str, Any] = {}  # the calibrations in use (a conversion dict)
        self.findings: list[Finding] = []  # what the calibration choice found
        self.pending_tare: dict[str, Any] | None = None  # taken before the next start
        self.recording: Recording | None = None
        self.ended: Ended | None = None
        self._hooks: list[EventHook] = []
        self._lock = threading.RLock()
        # With a shared store configured (sensing.store.config), closed sessions are copied
        # there in a thread of their own (docs/multi-station.md); recording never waits on it.
        self.sync = (background.configured_sync(store.path)
                     if isinstance(store.path, Path) else None)  # a shared store syncs nothing

    # -- the device -------------------------------------------------------------------------

    def connect(self, url: str, profile: Profile | str, *, retry: bool = False,
                calibration: CalibrationChoice | None = None,
                one_session: bool = False) -> None:
        """Open ``url`` read with ``profile`` (closing the device open before).

        A port that cannot be opened is a DeviceError at once, unless ``retry``: then the bridge
        keeps trying in the background (a device given at start may be plugged in later).
        ``one_session``: the face will record one session from it (``sotlog record``), so its
        uuid is chosen now and the LSL stream's description carries it.
        """
        prof = load_profile(profile) if isinstance(profile, str) else profile
        with self._lock:
            self._idle("change the device")
            conversion, findings = choose_calibration(self.store, prof,
                                                      calibration or CalibrationChoice())
            bridge = Bridge(url, prof)
            if not retry:
                bridge.open_once()  # a port that is not there fails here, in one line
            self._close_bridge()
            self.bridge, self.profile, self.url = bridge, prof, url
            self.device = describe_port(url)
            self.calibration, self.findings = conversion, findings
            self.live = LiveConversion(prof, conversion)
            self.pending_tare = None
            self.reserved_uuid = str(uuid4()) if one_session else None
            if self.lsl_stream:
                self.outlet = lsl.LslOutlet(
                    prof, f"sotlog:{url}", self.live, self.lsl_units,
                    session={"uuid": self.reserved_uuid, "face": self.face}
                    if self.reserved_uuid else {"face": self.face})
                bridge.add_listener(self.outlet)
            bridge.start()

    def use_calibration(self, choice: CalibrationChoice) -> list[Finding]:
        """Read the open device with other calibrations from now on; any tare is dropped."""
        with self._lock:
            self._idle("change the calibration")
            profile = self._profile()
            self.calibration, self.findings = choose_calibration(self.store, profile, choice)
            self._live().set(self.calibration, 0.0)
            self.pending_tare = None
            return self.findings

    def disconnect(self) -> None:
        with self._lock:
            self._idle("close the device")
            self._close_bridge()

    def add_listener(self, listener: Any) -> None:
        """Hand what the device sends to ``listener`` as well (see ``firmware_bridge.bridge``)."""
        self._bridge().add_listener(listener)

    def remove_listener(self, listener: Any) -> None:
        if self.bridge is not None:
            self.bridge.remove_listener(listener)

    def on_event(self, hook: EventHook) -> None:
        """Call ``hook(event)`` for every event the service stores or would store: tares,
        a person's marks, checks' warnings, start and stop (not the device's own notices,
        which listeners get from the bridge)."""
        self._hooks.append(hook)

    # -- tare -------------------------------------------------------------------------------

    def tare(self, seconds: float = 1.0, *, force: bool = False) -> dict[str, Any]:
        """Zero every channel on its mean over the next ``seconds``, with the blocks unloaded.

        Refused (TareRefused, nothing changed) when the readings moved or the blocks look
        loaded, unless ``force``: then the tare keeps the problems it had. Before a recording,
        the tare is the zero the next session starts from; during one, it applies from the
        moment it is taken and the samples before it keep the zero they had.
        """
        bridge, profile = self._bridge(), self._profile()
        live = self._live()
        data, text = take_tare(bridge, profile, live.reading.conversion, seconds, force)
        with self._lock:
            rec = self.recording
            if rec is None:
                live.set(with_tare(self.calibration, data), 0.0)
                self.pending_tare = {**data, "text": text}
                self._emit("tare", text, data, data["host_time_start"])
                return plain(data)
            at, conversion = live.add_zero(data)
            data["from_s"] = at - rec.t0_host
        self.store.set_conversion(rec.session_id, conversion,
                                  reason=f"tare at {data['from_s']:.2f} s")
        rec.recorder.add_event("tare", text, data, host_time=data["host_time_start"],
                               source="person")
        self._emit("tare", text, data, data["host_time_start"], rec)
        return plain(data)

    # -- a session --------------------------------------------------------------------------

    def start(self, meta: SessionMeta) -> int:
        """Make a session with ``meta`` and record everything the device sends into it."""
        with self._lock:
            if self.recording is not None:
                raise StateError(f"already recording session {self.recording.session_id}; "
                                 "stop it first")
            bridge, profile = self._bridge(), self._profile()
            check_blocks(meta, device_channels(profile))
            uid, self.reserved_uuid = self.reserved_uuid or str(uuid4()), None
            t0 = time.monotonic()
            conversion = self.calibration
            if self.pending_tare is not None:
                tare = {k: v for k, v in self.pending_tare.items() if k != "text"}
                conversion = with_tare(conversion, tare)
            sid = self.store.create_session(meta, profile, port=self.url or "",
                                            device=self.device, t0_host=t0, uuid=uid,
                                            conversion=conversion, face=self.face)
            recorder = Recorder(self.store, sid)
            # The same zero as before the start, now on the session's clock: values don't jump.
            self._live().set(conversion, t0)
            # The counters at the very moment the recorder joins: the session's counts are the
            # difference at its end, so they count exactly the frames it was handed.
            rec = Recording(sid, uid, t0, meta, recorder,
                            bridge.add_listener(recorder, history=True))
            self.recording = rec
            rec.detection = LiveDetection(self._live(), t0, meta.body_weight_kg,
                                          lambda event: self._detected(rec, event))
            bridge.add_listener(rec.detection)
        self._store_findings(rec, self.findings, t0)
        if self.pending_tare is not None:
            tare = dict(self.pending_tare)
            text = tare.pop("text", "")
            rec.recorder.add_event("tare", f"before the start: {text}".rstrip(": "), tare,
                                   host_time=tare["host_time_start"], source="person")
        self._emit("marker", f"session {sid} started (uuid {uid})", {"session_uuid": uid}, t0,
                   rec, lsl_only=True)
        if self.outlet is not None:  # the anchor every export carries, for LSL/XDF alignment
            self.outlet.session_started(uid, t0, self.store.session(sid).info.started_utc)
        return sid

    def mark(self, kind: str, text: str = "", data: dict[str, Any] | None = None,
             time_s: float | None = None, session_id: int | None = None) -> dict[str, Any]:
        """A person's event in the session being recorded (now, or at ``time_s``).

        With ``session_id`` of a session no longer recording (the page kept the event while
        the server could not be reached), it is added to that stored session at ``time_s``.
        """
        text = person_event(kind, text, data)
        rec = self.recording
        if session_id is not None and (rec is None or rec.session_id != session_id):
            if time_s is None:
                raise MetadataError("an event for a session that has ended needs its time_s")
            late = {**(data or {}), "sent_after_the_recording": True}
            stored = self.store.add_event(session_id, kind, text, late, time_s=time_s)
            return {"id": stored, "kind": kind, "text": text, "data": plain(late),
                    "time_s": time_s, "session_id": session_id}
        if rec is None:
            raise StateError("events are marked during a recording: press Start first")
        host_time = time.monotonic() if time_s is None else rec.t0_host + float(time_s)
        eid = rec.recorder.add_event(kind, text, data or {}, host_time=host_time)
        if eid is None:
            raise StateError(f"session {rec.session_id} could not store the {kind}: "
                             f"{rec.recorder.error or 'it has ended'}")
        return self._emit(kind, text, data or {}, host_time, rec, event_id=eid)

    def session_counters(self) -> dict[str, int]:
        """The device's counters since the recording started (empty when not recording)."""
        rec, bridge = self.recording, self.bridge
        if rec is None or bridge is None:
            return {}
        return self._since_start(rec, bridge.counters)

    @staticmethod
    def _since_start(rec: Recording, now: Counters) -> dict[str, int]:
        counts, before = now.as_dict(), rec.counters_at_start.as_dict()
        return {k: counts[k] - before.get(k, 0) for k in counts}

    def stop(self, status: str = "complete", reason: str = "stopped") -> Ended:
        """End the recording with ``status`` and ``reason``; run and store the end checks."""
        with self._lock:
            rec = self.recording
            if rec is None:
                raise StateError("nothing is being recorded")
            counters: dict[str, int] = {}  # with no device, nothing was counted
            if self.bridge is not None:
                if rec.detection is not None:
                    self.bridge.remove_listener(rec.detection)
                    rec.detection.finish()
                # the counts of exactly what the recorder was handed
                counters = self._since_start(rec, self.bridge.remove_listener(rec.recorder))
            rec.recorder.close(status=status, counters=counters, reason=reason)
            self.recording = None
            # The device keeps the session's newest zero: the next session starts from it.
            segments = zero_segments(self.store.session(rec.session_id).info.conversion)
            kept = {k: v for k, v in segments[-1].items() if k != "from_s"} if segments else None
            conversion = self.calibration if kept is None else with_tare(self.calibration, kept)
            self.pending_tare = None if kept is None else {
                **kept, "text": f"the zero session {rec.session_id} ended with"}
            self._live().set(conversion, 0.0)
        findings = end_checks(self.store, rec.session_id)
        if self.sync is not None:
            self.sync.kick()
        try:
            visits.work_out(self.store, rec.session_id)
        except SotlogError:  # left NULL: the visit list works it out when it needs it
            log.warning("session %s: visit figures not kept at its end", rec.session_id)
        self._emit("marker", f"session {rec.session_id} stopped: {reason}", {"reason": reason},
                   None, rec, lsl_only=True)
        info = self.store.session(rec.session_id).info
        c = info.counters
        self.ended = Ended(rec.session_id, rec.uuid, info.status, info.end_reason,
                           info.duration_s, info.n_frames, int(c.get("stored_events", 0)),
                           int(c.get("stored_raw_bytes", 0)), c, findings,
                           str(rec.recorder.error) if rec.recorder.error else None)
        return self.ended

    def close(self, reason: str = "sotlog was closed") -> Ended | None:
        """Shut down: a recording still running ends ``interrupted`` with ``reason``."""
        ended = None
        with self._lock:
            if self.recording is not None:
                ended = self.stop(status="interrupted", reason=reason)
            self._close_bridge()
        if self.sync is not None:  # what ended here gets a last, bounded chance to be copied
            self.sync.finish()
        return ended

    # -- inside -----------------------------------------------------------------------------

    def _store_findings(self, rec: Recording, findings: list[Finding], host_time: float) -> None:
        """The calibration used (a ``calibration`` event) and its age (a ``warning`` if old)."""
        for f in findings:
            if not f.warn and f.check != "calibration":
                continue  # a calibration young enough is said by the calibration event itself
            kind = "warning" if f.warn else "calibration"
            rec.recorder.add_event(kind, f.text, {"check": f.check, "channel": f.channel,
                                                  **f.data}, host_time=host_time, source="sotlog")

    def _detected(self, rec: Recording, event: Detected) -> None:
        """An event the detection rule found live: stored (source sotlog) and told."""
        rec.recorder.queue_event(event.kind, event.text, event.data, event.host_time, "sotlog")
        self._emit(event.kind, event.text, event.data, event.host_time, rec, source="sotlog")

    def _emit(self, kind: str, text: str, data: dict[str, Any], host_time: float | None,
              rec: Recording | None = None, event_id: int | None = None,
              lsl_only: bool = False, source: str = "person") -> dict[str, Any]:
        """Tell the LSL marker stream and the hooks of an event (``lsl_only``: LSL alone, for
        the start and stop markers the faces show in their own way)."""
        stamp = time.monotonic() if host_time is None else host_time
        event = {"id": event_id, "kind": kind, "text": text, "data": plain(data),
                 "host_time": stamp, "source": source,
                 "time_s": None if rec is None else stamp - rec.t0_host}
        if self.outlet is not None:
            self.outlet.push_event(kind, text, stamp)
        for hook in [] if lsl_only else list(self._hooks):
            hook(event)
        return event

    def _idle(self, what: str) -> None:
        if self.recording is not None:
            raise StateError(f"stop the recording before you {what}")

    def _close_bridge(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
        if self.outlet is not None:
            self.outlet.close()
            self.outlet = None
        self.bridge = self.profile = self.url = self.live = None
        self.device = ""
        self.pending_tare = None

    def _bridge(self) -> Bridge:
        if self.bridge is None:
            raise StateError("no device is open: choose a port and a profile first")
        return self.bridge

    def _profile(self) -> Profile:
        if self.profile is None:
            raise StateError("no device is open: choose a port and a profile first")
        return self.profile

    def _live(self) -> LiveConversion:
        if self.live is None:
            raise StateError("no device is open: choose a port and a profile first")
        return self.live
