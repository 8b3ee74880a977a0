"""The conversion in force on a live device, shared by everything that shows or streams force.

The recording service owns one ``LiveConversion`` per open device; the live view and the LSL
outlet read force through it, and a stored session reads through the same conversion dict. A
tare taken now becomes a zero segment that starts at the host time it was installed, under the
lock every reader takes: a frame stamped before that moment keeps the old zero, one stamped
after gets the new one, whichever thread converts it and whenever. So what is shown, streamed
and stored agree frame by frame.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile
from sensing.calibration.conversion import Conversion, with_zero
from sensing.mat.blocks import session_block_channels


@dataclass(frozen=True)
class Reading:
    """One version of the conversion: the dict, its time 0 on the host clock, its callables.

    ``profile``, ``conversion`` and ``t0_host`` are what ``sensing.mat.blocks`` reads of a
    session header, so a mat's live values come from the same function as its stored ones.
    """

    profile: Profile
    conversion: dict[str, Any]
    t0_host: float
    cells: Conversion


class LiveConversion:
    """The newest ``Reading``, replaced whole under a lock (never changed in place)."""

    def __init__(self, profile: Profile, conversion: dict[str, Any] | None = None,
                 t0_host: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._reading = reading_for(profile, conversion or {}, t0_host)

    @property
    def reading(self) -> Reading:
        with self._lock:
            return self._reading

    @property
    def conversion(self) -> dict[str, Any]:
        return self.reading.conversion

    def set(self, conversion: dict[str, Any], t0_host: float | None = None) -> None:
        """Read with ``conversion`` from now on (its segment times from ``t0_host``)."""
        with self._lock:
            r = self._reading
            t0 = r.t0_host if t0_host is None else t0_host
            self._reading = reading_for(r.profile, conversion, t0)

    def add_zero(self, tare: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """A new zero from this moment on: ``(its host time, the conversion dict now)``.

        The segment's ``from_s`` is that moment on the reading's own time base (``t0_host``).
        """
        with self._lock:
            r = self._reading
            at = time.monotonic()
            new = with_zero(r.conversion, {**tare, "from_s": at - r.t0_host})
            self._reading = reading_for(r.profile, new, r.t0_host)
            return at, new

    def forces(self, block: FrameBlock, units: str = "N") -> tuple[list[str], np.ndarray,
                                                                       list[str]]:
        """``(names, values (n, k), unit per column)``: load cells per channel, a mat's total."""
        r = self.reading
        if r.profile.matrix is not None:
            found = session_block_channels(r, block, units, stored=[])
            assert found is not None
            return found
        values, unit_list = r.cells.apply(block.values, units,
                                          block.host_time)
        return r.cells.names, values, unit_list


def reading_for(profile: Profile, conversion: dict[str, Any] | None = None,
                t0_host: float = 0.0) -> Reading:
    """A ``Reading`` of ``profile`` with ``conversion`` (none: the profile's own scale)."""
    conversion = conversion or {}
    return Reading(profile, dict(conversion), float(t0_host),
                   Conversion.from_profile(profile, conversion, t0_host))
