"""The session store: one SQLite file in WAL mode holding every session, its samples, events and
raw bytes. Reads use their own connections; a recording writes through one Recorder thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from firmware_bridge import __version__
from firmware_bridge.errors import StoreError
from firmware_bridge.profiles import Profile
from sensing.metadata import EVENT_KINDS, MetadataError, SessionMeta
from sensing.store import owner as store_owner
from sensing.store.read import INFO_SELECT, Session, SessionInfo, info_from_row
from sensing.store.schema import FORMAT_VERSION, SOURCES, connect, prepare

ENV_VAR = "SOTLOG_STORE"
META_FIELDS = ("subject_code", "position", "category", "short_leg", "body_weight_kg", "note",
               "blocks")


def utc_now() -> str:
    """Now as ISO 8601 UTC with milliseconds, the form every ``*_utc`` column holds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str:
    """JSON for the store; numpy scalars and arrays become plain numbers and lists."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return repr(value)  # kept as text rather than lose the whole event


def _utc_bound(value: str | date | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def default_path() -> Path:
    """``$SOTLOG_STORE``, else ``sessions.sqlite3`` in the user data directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("sotlog")) / "sessions.sqlite3"


def _meta_columns(meta: SessionMeta) -> dict[str, Any]:
    d = meta.as_dict()
    blocks = d.pop("blocks")
    return {**d, "blocks_json": to_json(blocks)}


class Store:
    """A session store file. Open with ``Store.open(path)``."""

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes

    @classmethod
    def open(cls, path: str | Path | None = None, *, max_bytes: int | None = None) -> Store:
        """Open (or create) the store; ``max_bytes`` caps the file size, as a full disk would."""
        p = Path(path).expanduser() if path is not None else default_path()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create folder {p.parent}: {err.strerror}") from err
        if p.is_dir():
            raise StoreError(f"session store {p} is a folder, not a file")
        store = cls(p, max_bytes)
        with store._writing() as conn:
            prepare(conn, p)
        store.mark_interrupted()
        return store

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection (rows as ``sqlite3.Row``); the caller closes it."""
        return connect(self.path, readonly=True)

    def write_connection(self) -> sqlite3.Connection:
        """A new write connection in autocommit mode (use BEGIN/COMMIT); the caller closes it."""
        conn = connect(self.path)
        if self.max_bytes is not None:
            try:
                page = conn.execute("PRAGMA page_size").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page)}")
            except sqlite3.DatabaseError as err:
                conn.close()
                raise StoreError(f"{self.path} is not a sotlog session store ({err})") from err
        return conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        conn = self.write_connection()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._writing() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"cannot write to session store {self.path}: {err}") from err
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def ensure_schema(self, sql: str) -> None:
        """Run one ``CREATE TABLE/INDEX IF NOT EXISTS`` statement (for other modules' tables)."""
        with self._transaction() as conn:
            conn.execute(sql)

    def create_session(self, meta: SessionMeta, profile: Profile, *, port: str = "",
                       device: str = "", t0_host: float | None = None,
                       started_utc: str | None = None,
                       conversion: dict[str, Any] | None = None) -> int:
        """A new session, status ``recording``, owned by this process; returns its id."""
        if not profile.source:
            raise StoreError(f"profile {profile.name!r} has no TOML text to store with the session")
        meta.validate()
        owner = store_owner.current()
        row = {
            **_meta_columns(meta), "uuid": str(uuid.uuid4()), "profile_name": profile.name,
            "profile_toml": profile.source, "profile_path": profile.path, "port": port,
            "device": device, "software_version": __version__, "format_version": FORMAT_VERSION,
            "started_utc": started_utc or utc_now(),
            "t0_host": time.monotonic() if t0_host is None else float(t0_host),
            "status": "recording", "conversion_json": to_json(conversion or {}),
            "frame_shape_json": to_json(list(profile.frame_shape)),
            "dtype": profile.matrix.dtype if profile.matrix is not None else None,
            "channel_names_json": to_json(profile.channel_names),
            "pid": owner.pid, "hostname": owner.hostname, "proc_token": owner.token,
        }
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._transaction() as conn:
            cur = conn.execute(f"INSERT INTO sessions ({cols}) VALUES ({marks})", row)
        assert cur.lastrowid is not None
        return cur.lastrowid

    def mark_interrupted(self) -> list[int]:
        """Sessions left ``recording`` by a process that is gone become ``interrupted``."""
        with self._writing() as conn:
            rows = conn.execute("SELECT id, pid, hostname, proc_token FROM sessions "
                                "WHERE status = 'recording'").fetchall()
        gone = [r["id"] for r in rows if r["pid"] is not None and store_owner.is_gone(
            store_owner.Owner(r["pid"], r["hostname"] or "", r["proc_token"]))]
        if not gone:
            return []
        now, this = utc_now(), store_owner.current()
        with self._transaction() as conn:
            for sid, r in ((r["id"], r) for r in rows if r["id"] in gone):
                conn.execute("UPDATE sessions SET status = 'interrupted' WHERE id = ? "
                             "AND status = 'recording'", (sid,))
                conn.execute(
                    "INSERT INTO events (session_id, host_time, kind, text, data_json, "
                    "created_utc, source) VALUES (?, (SELECT t0_host FROM sessions WHERE id = ?) + "
                    "coalesce((SELECT max(t_last) FROM chunks WHERE session_id = ?), 0), "
                    "'warning', ?, ?, ?, 'sotlog')",
                    (sid, sid, sid,
                     f"recording process {r['pid']} on {r['hostname']} ended without closing "
                     "the session; marked interrupted, stored samples kept",
                     to_json({"pid": r["pid"], "hostname": r["hostname"],
                              "detected_by_pid": this.pid}), now))
        return gone

    def session(self, session_id: int) -> Session:
        """The read side of one session; a missing id is a StoreError."""
        return Session(self.path, int(session_id))

    def sessions(self, subject: str | None = None, since: str | date | datetime | None = None,
                 until: str | date | datetime | None = None, category: str | None = None,
                 position: str | None = None, status: str | None = None) -> list[SessionInfo]:
        """Headers of the sessions that match every filter given, newest first.

        ``since`` and ``until`` bound the start time (UTC): ``since <= started < until``.
        """
        where, args = [], []
        for column, value in (("subject_code", subject), ("category", category),
                              ("position", position), ("status", status)):
            if value is not None:
                where.append(f"s.{column} = ?")
                args.append(value)
        if since is not None:
            where.append("s.started_utc >= ?")
            args.append(_utc_bound(since))
        if until is not None:
            where.append("s.started_utc < ?")
            args.append(_utc_bound(until))
        sql = INFO_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY s.started_utc DESC, s.id DESC"
        conn = self.connect()
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot read sessions from {self.path}: {err}") from err
        finally:
            conn.close()
        return [info_from_row(r) for r in rows]

    def _row(self, conn: sqlite3.Connection, session_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise StoreError(f"no session {session_id} in {self.path}")
        return row

    def update_meta(self, session_id: int, changes: dict[str, Any]) -> SessionMeta:
        """Change metadata fields (checked as SessionMeta); every changed field is logged."""
        unknown = sorted(set(changes) - set(META_FIELDS))
        if unknown:
            raise MetadataError(f"unknown session field(s): {', '.join(unknown)} "
                                f"(known: {', '.join(META_FIELDS)})")
        with self._transaction() as conn:
            row = self._row(conn, session_id)
            old = info_from_row_meta(row)
            new = SessionMeta.from_dict({**old.as_dict(), **_plain(changes)})
            old_d, new_d = old.as_dict(), new.as_dict()
            now = utc_now()
            for name in META_FIELDS:
                if old_d[name] != new_d[name]:
                    conn.execute(
                        "INSERT INTO session_edits (session_id, at_utc, field, old_json, new_json)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (session_id, now, name, to_json(old_d[name]), to_json(new_d[name])))
            cols = _meta_columns(new)
            sets = ", ".join(f"{k} = :{k}" for k in cols)
            conn.execute(f"UPDATE sessions SET {sets} WHERE id = :id", {**cols, "id": session_id})
        return new

    def set_conversion(self, session_id: int, conversion: dict[str, Any]) -> None:
        """Replace the session's conversion dict (tare, calibration); the change is logged."""
        with self._transaction() as conn:
            row = self._row(conn, session_id)
            new = to_json(conversion)
            conn.execute("INSERT INTO session_edits (session_id, at_utc, field, old_json, new_json)"
                         " VALUES (?, ?, 'conversion', ?, ?)",
                         (session_id, utc_now(), row["conversion_json"], new))
            conn.execute("UPDATE sessions SET conversion_json = ? WHERE id = ?", (new, session_id))

    def set_mat_regions(self, session_id: int,
                        regions: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        """Keep person-adjusted block regions (``Region.as_dict()`` items) with a mat session.

        None or ``[]`` removes them, so regions are found on the data again. They are checked
        against the session's mat, kept in its conversion dict and logged like set_conversion.
        """
        from firmware_bridge.errors import ProfileError
        from sensing.mat.blocks import REGIONS_KEY
        from sensing.mat.regions import Region, check_regions

        with self._transaction() as conn:
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
            new = to_json(conversion)
            conn.execute("INSERT INTO session_edits (session_id, at_utc, field, old_json, new_json)"
                         " VALUES (?, ?, 'conversion', ?, ?)",
                         (session_id, utc_now(), row["conversion_json"], new))
            conn.execute("UPDATE sessions SET conversion_json = ? WHERE id = ?", (new, session_id))
        return kept

    def add_event(self, session_id: int, kind: str, text: str = "",
                  data: dict[str, Any] | None = None, time_s: float | None = None,
                  source: str = "person") -> int:
        """Add an event to a stored session at ``time_s`` session seconds; returns its id."""
        check_event(kind, source)
        if time_s is None:
            raise StoreError("an event added to a stored session needs its time (time_s)")
        with self._transaction() as conn:
            row = self._row(conn, session_id)
            cur = conn.execute(
                "INSERT INTO events (session_id, host_time, kind, text, data_json, created_utc, "
                "source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, row["t0_host"] + float(time_s), kind, text, to_json(data or {}),
                 utc_now(), source))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def check_event(kind: str, source: str) -> None:
    """An unknown event kind or source is a MetadataError."""
    if kind not in EVENT_KINDS:
        raise MetadataError(f"unknown event kind {kind!r} (known: {', '.join(EVENT_KINDS)})")
    if source not in SOURCES:
        raise MetadataError(f"event source must be one of {', '.join(SOURCES)}, not {source!r}")


def info_from_row_meta(row: sqlite3.Row) -> SessionMeta:
    """The SessionMeta held in a ``sessions`` row."""
    d = {k: row[k] for k in META_FIELDS if k != "blocks"}
    return SessionMeta.from_dict({**d, "blocks": json.loads(row["blocks_json"])})


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    if "blocks" in out:
        out["blocks"] = [json.loads(to_json(b)) for b in out["blocks"]]
    return out
