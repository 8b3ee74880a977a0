"""A store of many ended sessions, for the faces' lists and pages."""

from __future__ import annotations

from pathlib import Path

from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder


def fill(path: Path, n: int) -> None:
    """``n`` ended sessions without frames, one a day, ids 1..n; ids 1, 11, 21, ... are of
    subject P-0007, the others of P-1000 + their index."""
    store = Store.open(path)
    profile = load_profile("sim-loadcells")
    for i in range(n):
        code = "P-0007" if i % 10 == 0 else f"P-{1000 + i}"
        sid = store.create_session(SessionMeta(subject_code=code), profile, t0_host=0.0,
                                   started_utc=f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}"
                                               "T09:00:00.000+00:00")
        Recorder(store, sid).close("complete")
