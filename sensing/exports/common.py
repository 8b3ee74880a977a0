"""What every export format shares: the column layout and the JSON sidecar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import firmware_bridge
from sensing.exports import FORMAT_VERSION
from sensing.summary import measured_rate

if TYPE_CHECKING:
    from sensing.session import Samples, Session


def force_column(name: str, unit: str) -> str:
    """Column name for a channel in ``unit``: ``left_N``, ``total_kgf``."""
    return f"{name}_{unit}"


def raw_columns(session: Session) -> tuple[list[str], np.ndarray | None]:
    """Raw values as the device sent them, one column per channel (load-cell sessions only)."""
    if len(session.info.frame_shape) != 1:
        return [], None
    frames = session.frames()
    names = [f"{n}_raw" for n in session.info.channel_names]
    return names, frames.values.astype(np.float64, copy=False)


def sidecar(session: Session, samples: Samples, fmt: str, *, strip_notes: bool = False,
            columns: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The metadata that travels with every export: units, rates, profile, calibration, events."""
    info = session.info
    meta = info.meta.as_dict()
    events = [
        {"time_s": ev.time_s, "kind": ev.kind, "source": ev.source,
         "text": "" if strip_notes else ev.text, "data": ev.data}
        for ev in session.events()
        if not (strip_notes and ev.kind == "note")
    ]
    if strip_notes:
        meta["note"] = ""
    return {
        "format": fmt,
        "format_version": FORMAT_VERSION,
        "software": f"sotlog {firmware_bridge.__version__}",
        "session": {
            "id": info.id, "uuid": info.uuid, "status": info.status,
            "started_utc": info.started_utc, "ended_utc": info.ended_utc,
            "duration_s": info.duration_s, **meta,
        },
        "columns": columns or [],
        "nominal_rate_hz": info.profile.nominal_rate_hz,
        "measured_rate_hz": measured_rate(samples.time_s),
        "frames": int(samples.time_s.size),
        "device": {"port": info.port, "description": info.device},
        "profile": {"name": info.profile_name, "toml": info.profile.source},
        "calibration": info.conversion,
        "counters": info.counters,
        "events": events,
        "time_base": "time_s: seconds since the session start on the host monotonic clock, "
                     "stamped when the frame's bytes arrived; device_time_s: the device's own "
                     "clock in seconds (empty when the device sends none)",
    }
