"""The station: the dashboard's face on the recording service, its live hub and calibration runs.

Everything about a session's life (device, calibration, tare, start, events, stop, checks) is
``sensing.recording.service.RecordingService``'s; the station adds what only the web has: the
live hub the viewers read, a calibration run driven from the page, and the status the page
shows, including how the last session ended (after a crash, how the one found interrupted did).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from dashboard.web.calibrating import CalibrationRun, calibration_summary, run_spec
from dashboard.web.live import LiveHub
from firmware_bridge.errors import SotlogError, StateError
from firmware_bridge.profiles import Profile
from firmware_bridge.words import decoded_nothing
from sensing.metadata import SessionMeta
from sensing.recording.conversion import Reading
from sensing.recording.service import Ended, RecordingService
from sensing.recording.setup import CalibrationChoice
from sensing.store.calibrations import CalibrationStore
from sensing.store.sessions import Store

TARE_SECONDS = 1.0


class Station:
    """Owns the recording service, the live hub and the calibration run; routes act through it."""

    def __init__(self, store: Store, ring_seconds: float = 150.0, lsl: bool = False) -> None:
        self.store = store
        self.service = RecordingService(store, face="dashboard", lsl_stream=lsl)
        self.hub = LiveHub(ring_seconds)
        self.service.on_event(self._show_event)
        self.calibrating: CalibrationRun | None = None
        self.last_error: str | None = None
        self._status_cache: tuple[float, dict[str, Any]] | None = None

    # -- the device -------------------------------------------------------------------------

    def connect(self, url: str, profile_name: str, retry: bool = False) -> dict[str, Any]:
        """Open ``url`` read with ``profile_name``; the previous device (if any) is closed."""
        self.last_error = None
        self._cancel_calibration()
        self.service.connect(url, profile_name, retry=retry)
        self._attach()
        return self.status()

    def _attach(self) -> None:
        """Start the hub afresh on the open device and let it see everything the device sends."""
        service = self.service
        self.hub.configure(service.profile, self._reading)
        service.add_listener(self.hub)

    def _reading(self) -> Reading | None:
        live = self.service.live
        return live.reading if live is not None else None

    def disconnect(self) -> None:
        self._cancel_calibration()
        self.service.disconnect()
        self.hub.configure(None, self._reading)

    def _cancel_calibration(self) -> None:
        if self.calibrating is not None and self.calibrating.running:
            self.calibrating.cancel()

    # -- tare and recording -----------------------------------------------------------------

    async def tare(self, seconds: float = TARE_SECONDS, force: bool = False) -> dict[str, Any]:
        """Zero on the next ``seconds`` (the service's rule; TareRefused says why not)."""
        self._not_calibrating("tare")
        return await asyncio.to_thread(self.service.tare, seconds, force=force)

    def start(self, meta: SessionMeta) -> int:
        self._not_calibrating("start a recording")
        sid = self.service.start(meta)
        rec = self.service.recording
        self.hub.start_counting(rec.t0_host if rec is not None else None)
        return sid

    def add_event(self, kind: str, text: str = "", data: dict[str, Any] | None = None,
                  time_s: float | None = None, session_id: int | None = None) -> dict[str, Any]:
        """A mark typed by a person during the recording (now, or at ``time_s``); see
        ``RecordingService.mark`` for one sent after its session ended."""
        return self.service.mark(kind, text, data, time_s, session_id)

    def stop(self, status: str = "complete", reason: str = "stopped from the dashboard") -> Ended:
        ended = self.service.stop(status, reason)
        self.hub.start_counting(None)
        return ended

    def close(self, reason: str = "the dashboard was stopped") -> Ended | None:
        """Shut down: a recording still running ends interrupted, with ``reason``."""
        self._cancel_calibration()
        ended = self.service.close(reason)
        self.hub.start_counting(None)
        return ended

    def _show_event(self, event: dict[str, Any]) -> None:
        self.hub.add_event(event["kind"], event["text"], event["data"], event["host_time"],
                           event.get("source", "person"))

    def _not_calibrating(self, what: str) -> None:
        if self.calibrating is not None and self.calibrating.running:
            raise StateError(f"a calibration is running: finish or cancel it before you {what}")

    # -- what the page shows ----------------------------------------------------------------

    def shared_status(self, max_age_s: float = 0.02) -> dict[str, Any]:
        """``status()``, computed at most once per ``max_age_s`` for all the live viewers."""
        now = time.monotonic()
        cached = self._status_cache
        if cached is None or now - cached[0] > max_age_s:
            cached = self._status_cache = (now, self.status())
        return cached[1]

    def status(self) -> dict[str, Any]:
        service, hub = self.service, self.hub
        bridge, profile, rec = service.bridge, service.profile, service.recording
        counters = bridge.counters.as_dict() if bridge else {}
        silent = bridge.silent_s if bridge else None
        session_counters = service.session_counters()
        recording = None
        if rec is not None:
            recording = {"session_id": rec.session_id, "uuid": rec.uuid,
                         "t_start": round(rec.t0_host - hub.epoch, 4),
                         "meta": rec.meta.as_dict()}
        return {
            "state": bridge.state if bridge else "closed",
            "url": service.url,
            "profile": profile.name if profile else None,
            "matrix": (list(profile.frame_shape)
                       if profile is not None and profile.matrix is not None else None),
            "error": str(bridge.error) if bridge and bridge.error else self.last_error,
            "rate_hz": round(bridge.frame_rate, 2) if bridge else 0.0,
            "silent_s": None if silent is None else round(silent, 1),
            "counters": counters,
            "decoded_nothing": decoded_nothing(counters),
            "session_counters": session_counters,
            "session_decoded_nothing": decoded_nothing(session_counters),
            "tared": service.pending_tare is not None or bool(
                rec is not None and (service.live and service.live.conversion.get("tare"))),
            "calibration": calibration_summary(service.calibration),
            "calibrating": self.calibrating.state if self.calibrating is not None else None,
            "lsl": ({"source_id": service.outlet.source_id,
                     "samples": service.outlet.samples_pushed, "error": service.outlet.error}
                    if service.outlet is not None else None),
            "recording": recording,
            "ended": self.ended(),
        }

    def ended(self) -> dict[str, Any] | None:
        """How the last session ended: this process's last, or one found interrupted at start."""
        if self.service.ended is not None:
            return _ended_dict(self.service.ended.as_dict(), found_at_start=False)
        if self.store.found_interrupted:
            sid = max(self.store.found_interrupted)
            with contextlib.suppress(SotlogError), self.store.session(sid) as s:
                info = s.info
                c = info.counters
                return _ended_dict({
                    "session_id": sid, "uuid": info.uuid, "status": info.status,
                    "reason": info.end_reason, "duration_s": info.duration_s,
                    "frames": info.n_frames, "events": int(c.get("stored_events", 0)),
                    "raw_bytes": int(c.get("stored_raw_bytes", 0)),
                    "decoded_nothing": info.decoded_nothing}, found_at_start=True)
        return None

    # -- calibration ------------------------------------------------------------------------

    def start_calibration(self, spec_args: dict[str, Any], mode: str, scripted: bool
                          ) -> CalibrationRun:
        """Start a calibration run on the open device (not while recording)."""
        service = self.service
        if service.recording is not None:
            raise StateError("stop the recording before calibrating")
        if self.calibrating is not None and self.calibrating.running:
            raise StateError("a calibration is already running; cancel it first")
        bridge, profile = service.bridge, service.profile
        if bridge is None or profile is None or service.url is None:
            raise StateError("no device is open: choose a port and a profile first")
        spec = run_spec(profile, service.url, service.device, spec_args, mode)
        run = CalibrationRun(bridge, spec, mode, scripted, self._equilibration(profile, mode),
                             spec_args.get("note", ""))
        self.calibrating = run
        run.start()
        return run

    def _equilibration(self, profile: Profile, mode: str) -> Any:
        """A mat's total is weighted by its newest equilibration (as `sotlog calibrate`)."""
        if mode != "total":
            return None
        return CalibrationStore(self.store).latest_equilibration(profile.name)

    def current_calibration(self) -> CalibrationRun:
        if self.calibrating is None:
            raise StateError("no calibration has been started")
        return self.calibrating

    def save_calibration(self) -> list[int]:
        """Store the fitted records; the live view (and the next session) use them from now."""
        run = self.current_calibration()
        if run.state != "fitted":
            raise StateError(f"the calibration is {run.state}; only a fitted one can be saved")
        for cal in run.records:
            cal.note = run.note
        ids = CalibrationStore(self.store).add(run.records)
        run.saved_ids, run.state = ids, "saved"
        if self.service.recording is None and self.service.profile is not None:
            self.service.use_calibration(CalibrationChoice())
            self.service.remove_listener(self.hub)
            self._attach()  # the hub starts afresh: tare again with the new fit
        return ids


def _ended_dict(d: dict[str, Any], found_at_start: bool) -> dict[str, Any]:
    """What the page says about an ended session: status, why, and what was kept."""
    return {k: d.get(k) for k in ("session_id", "uuid", "status", "reason", "duration_s",
                                  "frames", "events", "raw_bytes", "decoded_nothing")} | {
        "found_at_start": found_at_start}
