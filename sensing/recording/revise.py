"""Changes to a stored session after it was recorded: another calibration, and undo.

Raw samples are never touched: these change how they are read, through the edit log, which
keeps the old value and can put it back. Every face (``sotlog recalibrate``, ``sotlog undo``,
the session page) goes through here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_bridge.errors import CalibrationError
from sensing.calibration.fit import calibration_ids, with_calibrations
from sensing.store.calibrations import CalibrationStore
from sensing.store.records import Edit
from sensing.store.sessions import Store


@dataclass
class Recalibrated:
    """What ``recalibrate`` changed."""

    session_id: int
    old_ids: list[int]
    new_ids: list[int]
    edit_id: int
    warnings: list[str] = field(default_factory=list)


def recalibrate(store: Store, session_id: int, ids: list[int]) -> Recalibrated:
    """Read a session with calibrations ``ids`` (each bringing its run's other channels; the
    session's other channels keep theirs). Logged as an edit, and noted as an event."""
    with store.session(session_id) as session:
        info = session.info
    chosen = CalibrationStore(store).resolve(ids)
    names = info.channel_names or ["total"]
    wrong = [c.channel for c in chosen if c.channel not in names]
    if wrong:
        raise CalibrationError(f"session {info.id} has no channel {', '.join(map(repr, wrong))} "
                               f"(channels: {', '.join(names)})")
    warnings = [f"calibration made with profile {p}, session recorded with {info.profile_name}"
                for p in sorted({c.profile_name for c in chosen} - {info.profile_name})]
    old_ids = calibration_ids(info.conversion)
    conversion = with_calibrations(info.conversion, chosen, keep_others=True)
    new_ids = calibration_ids(conversion)
    text = (f"re-expressed with calibration {', '.join(map(str, new_ids))} "
            f"(was {', '.join(map(str, old_ids)) or 'none'}); raw samples unchanged")
    edit = store.set_conversion(info.id, conversion, reason=text)
    store.add_event(info.id, "calibration", text, {"old_ids": old_ids, "new_ids": new_ids},
                    time_s=0.0, source="person")
    return Recalibrated(info.id, old_ids, new_ids, edit, warnings)


def undo(store: Store, session_id: int, edit_id: int | None = None) -> Edit:
    """Undo one logged edit (default: the newest not yet undone); the new edit."""
    new_id = store.undo_edit(session_id, edit_id)
    with store.session(session_id) as session:
        return next(e for e in session.edits() if e.id == new_id)
