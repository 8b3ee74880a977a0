"""The session store: one SQLite file in WAL mode holding every session, its samples, events and
raw bytes. Reads use their own connections; a recording writes through one Recorder thread.

Opening the file and listing its sessions is ``sensing.store.storefile.StoreFile``; a Store is
one, and adds reading a session, making one and changing one.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any
from uuid import uuid4

from firmware_bridge import __version__
from firmware_bridge.errors import MetadataError, ProfileError, SotlogError, StoreError
from firmware_bridge.profiles import Profile
from sensing.mat.blocks import REGIONS_KEY
from sensing.mat.derive import LoadedMean, MatDerived
from sensing.mat.regions import Region, check_regions
from sensing.metadata import SessionMeta
from sensing.plainjson import dumps
from sensing.store import owner as store_owner
from sensing.store.derived import keep_derived
from sensing.store.edits import (
    change_conversion,
    change_events,
    change_meta,
    latest_undoable,
    meta_columns,
    session_row,
    undo,
)
from sensing.store.read import INFO_SELECT, Session, info_from_row
from sensing.store.records import SessionInfo
from sensing.store.schema import FORMAT_VERSION, insert
from sensing.store.storefile import StoreFile, utc_now
from sensing.vocabulary import EVENT_KINDS, EVENT_SOURCES

__all__ = ["Store", "check_event", "utc_now"]


class Store(StoreFile):
    """A session store file: its sessions read, made and changed. Open with ``Store.open(path)``."""

    def create_session(self, meta: SessionMeta, profile: Profile, *, port: str = "",
                       device: str = "", t0_host: float | None = None,
                       started_utc: str | None = None,
                       conversion: dict[str, Any] | None = None, uuid: str | None = None,
                       face: str = "") -> int:
        """A new session, status ``recording``, owned by this process; returns its id.

        ``face`` says what recorded it (``record``, ``dashboard``, ``import``).
        """
        if not profile.source:
            raise StoreError(f"profile {profile.name!r} has no TOML text to store with the session")
        owner = store_owner.current()
        row = {
            **meta_columns(meta), "uuid": uuid or str(uuid4()), "profile_name": profile.name,
            "profile_toml": profile.source, "profile_path": profile.path, "port": port,
            "device": device, "software_version": __version__, "format_version": FORMAT_VERSION,
            "started_utc": started_utc or utc_now(),
            "t0_host": time.monotonic() if t0_host is None else float(t0_host),
            "status": "recording", "conversion_json": dumps(conversion or {}),
            "frame_shape_json": dumps(list(profile.frame_shape)),
            "dtype": profile.matrix.dtype if profile.matrix is not None else None,
            "channel_names_json": dumps(profile.channel_names),
            "pid": owner.pid, "hostname": owner.hostname, "proc_token": owner.token,
            "face": face,
        }
        with self._transaction() as conn:
            return insert(conn, "sessions", row)

    def session(self, session_id: int) -> Session:
        """The read side of one session; a missing id is NotFound (a StoreError)."""
        keep = self.keep_derived if self.keeps_derived else None
        return Session(self.path, int(session_id), self.immutable, keep, self.connect)

    def keep_derived(self, info: SessionInfo, derived: MatDerived) -> None:
        """Keep a mat session's derived data, made for ``info`` as it is now; when the session
        changed meanwhile, or the store is busy or full, it is left to the next read."""
        try:
            with self._transaction(shared_ok=True) as conn:
                now = info_from_row(conn.execute(INFO_SELECT + " WHERE s.id = ?",
                                                 (info.id,)).fetchone())
                if (now.conversion, now.n_frames) == (info.conversion, info.n_frames):
                    keep_derived(conn, info, derived, utc_now())
        except StoreError as err:
            self.derived_not_kept = str(err)

    def derive(self, session_id: int, mean: LoadedMean | None = None) -> bool:
        """Derive a mat session's regions, block sums and measures and keep them, unless those
        kept are current (docs/mats.md); nothing for a load-cell session or one recording.
        ``mean``: the mean frame its recorder summed (see ``Session.mat_derived``).

        False when its frames could not be read (``derived_not_kept`` says why): the change
        that asked for it stands, and the next read derives it or says what is damaged.
        """
        try:
            with self.session(session_id) as s:
                if s.info.is_matrix and s.info.status != "recording" and not s.derived_kept():
                    s.mat_derived(mean)
        except SotlogError as err:
            self.derived_not_kept = str(err)
            return False
        return True

    def _row(self, conn: sqlite3.Connection, session_id: int) -> sqlite3.Row:
        return session_row(conn, session_id, str(self.path))

    def update_meta(self, session_id: int, changes: dict[str, Any],
                    reason: str = "") -> SessionMeta:
        """Change metadata fields (checked as SessionMeta); every changed field is logged."""
        with self._transaction(shared_ok=True) as conn:
            return change_meta(conn, self._row(conn, session_id), changes, utc_now(), reason)

    def set_conversion(self, session_id: int, conversion: dict[str, Any],
                       reason: str = "") -> int:
        """Replace the session's conversion dict (tare, calibration); logged. The edit's id."""
        with self._transaction(shared_ok=True) as conn:
            eid = change_conversion(conn, self._row(conn, session_id), conversion, utc_now(),
                                    reason)
        self.derive(session_id)
        return eid

    def change_events(self, session_id: int, remove: list[int], add: list[dict[str, Any]],
                      reason: str = "") -> int:
        """Take events out and put events in (see ``edits.change_events``); logged as one edit,
        its id."""
        with self._transaction(shared_ok=True) as conn:
            return change_events(conn, self._row(conn, session_id), remove, add, utc_now(),
                                 reason)

    def undo_edit(self, session_id: int, edit_id: int | None = None) -> int:
        """Undo one logged edit (default: the newest not yet undone); the new edit's id."""
        with self._transaction(shared_ok=True) as conn:
            row = self._row(conn, session_id)
            target = latest_undoable(conn, session_id) if edit_id is None else int(edit_id)
            eid = undo(conn, row, target, utc_now())
        self.derive(session_id)  # an undone conversion: its block channels as they were
        return eid

    def set_mat_regions(self, session_id: int,
                        regions: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        """Keep person-adjusted block regions (``Region.as_dict()`` items) with a mat session.

        None or ``[]`` removes them, so regions are found on the data again. They are checked
        against the session's mat, kept in its conversion dict and logged like set_conversion.
        """
        with self._transaction(shared_ok=True) as conn:
            row = self._row(conn, session_id)
            info = info_from_row(conn.execute(INFO_SELECT + " WHERE s.id = ?",
                                              (session_id,)).fetchone())
            if info.profile.matrix is None:
                raise StoreError(f"session {session_id} is not a pressure-mat session: "
                                 "it has no block regions")
            conversion = dict(info.conversion)
            kept = None
            if regions:
                try:
                    checked = check_regions([Region.from_dict(r) for r in regions],
                                            info.profile.matrix)
                except ProfileError as err:
                    raise StoreError(f"session {session_id}: {err}") from err
                kept = [r.as_dict() for r in checked]
                conversion[REGIONS_KEY] = kept
            else:
                conversion.pop(REGIONS_KEY, None)
            change_conversion(conn, row, conversion, utc_now(),
                              "block regions set" if kept else "block regions found on the data")
        self.derive(session_id)
        return kept

    def add_event(self, session_id: int, kind: str, text: str = "",
                  data: dict[str, Any] | None = None, time_s: float | None = None,
                  source: str = "person") -> int:
        """Add an event to a stored session at ``time_s`` session seconds; returns its id."""
        check_event(kind, source)
        if time_s is None:
            raise StoreError("an event added to a stored session needs its time (time_s)")
        with self._transaction(shared_ok=True) as conn:
            row = self._row(conn, session_id)
            return insert(conn, "events", {
                "session_id": session_id, "host_time": row["t0_host"] + float(time_s),
                "kind": kind, "text": text, "data_json": dumps(data or {}),
                "created_utc": utc_now(), "source": source})

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def check_event(kind: str, source: str) -> None:
    """An unknown event kind or source is a MetadataError."""
    if kind not in EVENT_KINDS:
        raise MetadataError(f"unknown event kind {kind!r} (known: {', '.join(EVENT_KINDS)})")
    if source not in EVENT_SOURCES:
        raise MetadataError(f"event source must be one of {', '.join(EVENT_SOURCES)}, "
                            f"not {source!r}")
