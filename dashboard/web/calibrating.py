"""A calibration run driven from the page: ``sensing.calibration.procedures`` in a thread.

The person's side of ``sotlog calibrate`` is a ``Guide``: ``ask`` waits for Enter, ``say`` prints.
Here ``ask`` waits for the page's *Placed* button and ``say`` becomes steps the page shows
(waiting for the weight, settling…, settled). The procedures, the settle rule and the fit are
the calibration module's own; nothing of them is repeated here. Records are kept in memory until
the person saves them (or discards them).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from firmware_bridge.errors import CalibrationCancelled, CalibrationError, SotlogError

if TYPE_CHECKING:
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.profiles import Profile
    from sensing.calibration.capture import FrameTap
    from sensing.calibration.fit import Calibration
    from sensing.calibration.procedures import RunSpec

ASK_POLL_S = 0.2
MAX_STEPS = 500


@dataclass
class Step:
    """One thing the run waited for: a weight to be placed and its reading to settle."""

    prompt: str
    state: str = "waiting"  # waiting (for the person) -> settling -> settled
    detail: str = ""
    settled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "state": self.state, "detail": self.detail,
                "settled": list(self.settled)}


class WebGuide:
    """A ``sensing.calibration.procedures.Guide`` for the page.

    Asks wait for *Placed*, sayings become steps.
    """

    def __init__(self, scripted: bool) -> None:
        self.scripted = scripted
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self.cancelled = threading.Event()
        self._placed = threading.Event()
        self._lock = threading.Lock()

    @property
    def asking(self) -> bool:
        with self._lock:
            return bool(self.steps) and self.steps[-1].state == "waiting" and not self.scripted

    def ask(self, text: str) -> None:
        with self._lock:
            self.steps.append(Step(text))
            self._placed.clear()
        while not self._placed.wait(ASK_POLL_S):
            if self.cancelled.is_set():
                raise CalibrationCancelled("calibration cancelled; nothing stored")

    def say(self, text: str) -> None:
        if self.cancelled.is_set():  # said about once a second while waiting: a way out
            raise CalibrationCancelled("calibration cancelled; nothing stored")
        line = text.strip()
        with self._lock:
            if not text.startswith(" ") and line.startswith("waiting for"):
                self.steps.append(Step(line, state="settling"))  # a scripted load is due
            elif line.startswith("waiting for") and self.steps:
                self.steps[-1].state = "settling"
                self.steps[-1].detail = line.rstrip(". ")
            elif "settled:" in line and self.steps:
                self.steps[-1].state = "settled"
                self.steps[-1].settled.append(line)
            else:
                self.notes.append(line)
            del self.steps[:-MAX_STEPS]

    def placed(self) -> None:
        """The person says the weight is on (the page's *Placed* button)."""
        with self._lock:
            if not (self.steps and self.steps[-1].state == "waiting") or self.scripted:
                raise CalibrationError("the calibration is not waiting for a weight now")
            self.steps[-1].state = "settling"  # from now on it waits for a steady reading
            self._placed.set()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"steps": [s.as_dict() for s in self.steps], "notes": list(self.notes)}


Procedure = Callable[["FrameTap", "RunSpec", WebGuide, "Calibration | None"], list["Calibration"]]


def _cells(tap: FrameTap, spec: RunSpec, guide: WebGuide, _: Calibration | None
           ) -> list[Calibration]:
    from sensing.calibration.procedures import calibrate_loadcells

    return calibrate_loadcells(tap, spec, guide)


def _equilibrate(tap: FrameTap, spec: RunSpec, guide: WebGuide, _: Calibration | None
                 ) -> list[Calibration]:
    from sensing.calibration.procedures import equilibrate_mat

    return [equilibrate_mat(tap, spec, guide)]


def _mat_total(tap: FrameTap, spec: RunSpec, guide: WebGuide, equilibration: Calibration | None
               ) -> list[Calibration]:
    from sensing.calibration.procedures import calibrate_mat_total

    return [calibrate_mat_total(tap, spec, guide, equilibration)]


# What a run does, by mode: load cells, or a mat's sensel equilibration or total.
MODES: dict[str, tuple[bool, Procedure]] = {  # mode -> (for a mat?, procedure)
    "cells": (False, _cells),
    "equilibrate": (True, _equilibrate),
    "total": (True, _mat_total),
}


class CalibrationRun:
    """One run on the open device: its thread, what it says, and the records it made."""

    _ids = itertools.count(1)

    def __init__(self, bridge: Bridge, spec: RunSpec, mode: str, scripted: bool,
                 equilibration: Calibration | None = None, note: str = "") -> None:
        from sensing.calibration.capture import FrameTap

        if mode not in MODES:
            raise CalibrationError(f"calibration mode must be one of {', '.join(MODES)}")
        for_mat, procedure = MODES[mode]
        if for_mat != spec.profile.is_matrix:
            what = "a pressure mat" if spec.profile.is_matrix else "load cells"
            fits = [m for m, (mat, _) in MODES.items() if mat == spec.profile.is_matrix]
            raise CalibrationError(f"{spec.profile.name} is {what}: mode must be "
                                   f"{' or '.join(fits)}, not {mode!r}")
        self.id = next(self._ids)
        self.spec, self.mode, self.note = spec, mode, note
        self.guide = WebGuide(scripted)
        self.records: list[Calibration] = []
        self.saved_ids: list[int] = []
        self.error: str | None = None
        self.state = "running"  # running -> fitted | failed | cancelled; fitted -> saved
        self._bridge = bridge
        self._tap = FrameTap()
        self._procedure = procedure
        self._equilibration = equilibration
        self._thread = threading.Thread(target=self._run, name=f"sotlog-calibration-{self.id}",
                                        daemon=True)

    def start(self) -> None:
        self._bridge.add_listener(self._tap)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.records = self._procedure(self._tap, self.spec, self.guide, self._equilibration)
            self.state = "fitted"
        except CalibrationCancelled as err:
            self.state, self.error = "cancelled", str(err)
        except SotlogError as err:
            self.state, self.error = "failed", str(err)
        finally:
            self._bridge.remove_listener(self._tap)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def placed(self) -> None:
        if not self.running:
            raise CalibrationError(f"the calibration is {self.state}, not waiting for a weight")
        self.guide.placed()

    def cancel(self, wait_s: float = 3.0) -> None:
        """Stop the run (its thread notices within about a second); nothing is stored."""
        self.guide.cancelled.set()
        if self._thread.is_alive():
            self._thread.join(wait_s)
        if self.state == "fitted":
            self.state = "cancelled"
            self.error = "discarded; nothing stored"

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def status(self) -> dict[str, Any]:
        """What the page shows: the plan, each step, and the fitted records."""
        spec = self.spec
        return {
            "id": self.id, "state": self.state, "mode": self.mode, "error": self.error,
            "scripted": self.guide.scripted, "asking": self.running and self.guide.asking,
            "profile": spec.profile.name, "port": spec.port, "channels": spec.channels,
            "weights": spec.weights, "unit": spec.unit, "fit": spec.fit, "by": spec.by,
            "settle": spec.rule.as_dict(), "timeout_s": spec.timeout,
            **self.guide.snapshot(),
            "records": [c.record() for c in self.records],
            "saved_ids": self.saved_ids,
        }


def run_spec(profile: Profile, url: str, device: str, args: dict[str, Any], mode: str) -> RunSpec:
    """The calibration module's RunSpec from the page's request, checked before any waiting."""
    from sensing.calibration.capture import SettleRule
    from sensing.calibration.procedures import RunSpec, check_weights

    weights = args["weights"] if mode == "equilibrate" else check_weights(args["weights"],
                                                                          args["fit"])
    known = profile.channel_names or ["total"]
    channels = args["channels"] or known
    wrong = [c for c in channels if c not in known]
    if wrong:
        raise CalibrationError(f"{profile.name} has no channel {', '.join(wrong)} "
                               f"(channels: {', '.join(known)})")
    return RunSpec(profile=profile, port=url, device=device, weights=weights, unit=args["unit"],
                   fit=args["fit"], by=args["by"], timeout=args["timeout_s"], channels=channels,
                   rule=SettleRule(window_s=args["window_s"], sd_floor=args["settle_sd"]))


def calibration_summary(conversion: dict[str, Any]) -> dict[str, Any] | None:
    """Which calibration each channel is read with (None: the profile's scale alone)."""
    cal = conversion.get("calibration")
    if not cal:
        return None
    return {"ids": cal.get("ids", []),
            "channels": {name: {k: spec.get(k) for k in ("id", "fit", "created_utc", "by")}
                         for name, spec in (cal.get("channels") or {}).items()}}
