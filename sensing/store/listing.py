"""What a list of sessions shows, read from the ``sessions`` table alone: no samples, no profile.

A session's frame count and duration are stored in its row when it ends (store version 3). A
session still recording, or one an older sotlog ended, has none stored: a page counts it from
its chunks, and a store that can be written keeps the count of one that has ended, so it is
counted once. Filters, order and paging run in SQL. Light to import (no numpy, no pydantic):
``sotlog sessions`` starts quickly.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from typing import Any

from firmware_bridge.words import decoded_nothing
from sensing.vocabulary import SESSION_META_FIELDS

# A session's stored frame count and the session time of its last frame (0 with none).
COUNTS = ("SELECT coalesce(sum(count), 0), coalesce(max(t_last), 0.0) FROM chunks "
          "WHERE session_id = ?")
KEEP_COUNTS = ("UPDATE sessions SET frame_count = ?, duration_s = ? WHERE id = ? "
               "AND frame_count IS NULL AND status != 'recording'")
# What a subject's visit list shows of an ended session (sensing.metrics.visits), kept once.
KEEP_VISIT = "UPDATE sessions SET visit_json = ? WHERE id = ? AND status != 'recording'"
# Everything a list shows; the profile's TOML and the conversion stay unread.
COLUMNS = ", ".join((
    "id", "uuid", *(f for f in SESSION_META_FIELDS if f != "blocks"), "blocks_json",
    "profile_name", "port", "device", "software_version", "started_utc", "ended_utc", "status",
    "counters_json", "frame_shape_json", "channel_names_json", "end_reason", "face",
    "frame_count", "duration_s", "visit_json"))
NEWEST_FIRST = " ORDER BY started_utc DESC, id DESC"


def meta_dict(row: sqlite3.Row) -> dict[str, Any]:
    """The metadata held in a ``sessions`` row, as plain values (``SessionMeta.as_dict()``)."""
    d = {k: row[k] for k in SESSION_META_FIELDS if k != "blocks"}
    return {**d, "blocks": json.loads(row["blocks_json"])}


class Listed:
    """One line of a session list: who, when, which device, status, frames and duration.

    A plain class, not a dataclass or NamedTuple: making one of those costs about 2 ms at
    import, which `sotlog sessions` pays at every start.
    """

    __slots__ = ("id", "uuid", "meta", "profile_name", "port", "device", "software_version",
                 "started_utc", "ended_utc", "status", "counters", "frame_shape",
                 "channel_names", "n_frames", "duration_s", "end_reason", "face", "damaged",
                 "visit", "station")

    def __init__(self, *, id: int, uuid: str, meta: dict[str, Any],  # noqa: A002
                 profile_name: str, port: str, device: str, software_version: str,
                 started_utc: str, ended_utc: str | None, status: str,
                 counters: dict[str, Any], frame_shape: tuple[int, ...],
                 channel_names: list[str], n_frames: int, duration_s: float,
                 end_reason: str = "", face: str = "", damaged: str = "",
                 visit: dict[str, Any] | None = None, station: str | None = None) -> None:
        self.id = id
        self.uuid = uuid
        self.meta = meta  # as SessionMeta.as_dict() gives it
        self.profile_name = profile_name
        self.port = port
        self.device = device
        self.software_version = software_version
        self.started_utc = started_utc
        self.ended_utc = ended_utc
        self.status = status
        self.counters = counters
        self.frame_shape = frame_shape
        self.channel_names = channel_names
        self.n_frames = n_frames
        self.duration_s = duration_s  # session time of the last stored frame; 0 with none
        self.end_reason = end_reason
        self.face = face
        self.damaged = damaged  # what of it the store cannot read (see `sotlog check`), if any
        # time on the blocks, mean force and share per block (sensing.metrics.visits); None
        # until worked out
        self.visit = visit
        self.station = station  # the station it was recorded on (a shared store), else None

    def __repr__(self) -> str:
        return (f"Listed(id={self.id}, started_utc={self.started_utc!r}, status={self.status!r}, "
                f"n_frames={self.n_frames})")

    @property
    def subject_code(self) -> str | None:
        return self.meta.get("subject_code")

    @property
    def is_matrix(self) -> bool:
        return len(self.frame_shape) == 2

    @property
    def decoded_nothing(self) -> str | None:
        return decoded_nothing(self.counters)

    def as_dict(self) -> dict[str, Any]:
        """The list row as JSON-ready values, the metadata fields at the top level."""
        return {
            "id": self.id, "uuid": self.uuid, "status": self.status,
            "started_utc": self.started_utc, "ended_utc": self.ended_utc,
            "duration_s": self.duration_s, "n_frames": self.n_frames,
            "profile": self.profile_name, "port": self.port, "device": self.device,
            "software_version": self.software_version, "frame_shape": list(self.frame_shape),
            "channels": list(self.channel_names), "counters": self.counters,
            "end_reason": self.end_reason, "face": self.face,
            "decoded_nothing": self.decoded_nothing, "damaged": self.damaged or None,
            "visit": self.visit, **self.meta,
            **({"station": self.station} if self.station is not None else {}),
        }


def listed(row: sqlite3.Row, n_frames: int, duration_s: float, damaged: str = "") -> Listed:
    """A Listed from a row of ``COLUMNS`` and its counts. A row whose JSON a damaged file has
    garbled is listed as damaged, with what can be read, so the rest of the list still shows."""
    try:
        parsed = (json.loads(row["counters_json"]), tuple(json.loads(row["frame_shape_json"])),
                  json.loads(row["channel_names_json"]), meta_dict(row),
                  json.loads(row["visit_json"]) if row["visit_json"] else None)
    except (ValueError, TypeError) as err:  # JSONDecodeError, undecodable text
        damaged = damaged or f"its row cannot be read ({type(err).__name__}): sotlog check"
        parsed = ({}, (), [], {k: None for k in SESSION_META_FIELDS}, None)
    counters, shape, channels, meta, visit = parsed
    return Listed(
        id=row["id"], uuid=row["uuid"], meta=meta, profile_name=row["profile_name"],
        port=row["port"], device=row["device"], software_version=row["software_version"],
        started_utc=row["started_utc"], ended_utc=row["ended_utc"], status=row["status"],
        counters=counters, frame_shape=shape, channel_names=channels, n_frames=int(n_frames),
        duration_s=float(duration_s), end_reason=row["end_reason"], face=row["face"],
        damaged=damaged, visit=visit,
        station=row["station"] if "station" in row.keys() else None)  # noqa: SIM118


def utc_bound(value: str | date | datetime) -> str:
    """A ``since``/``until`` bound in the form ``started_utc`` holds (a naive time is local)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Filters:
    """Which sessions a list holds: every filter given must match.

    ``subject`` is a whole subject code, ``subject_part`` a part of one (any case); ``since``
    and ``until`` bound the start time (UTC): ``since <= started < until``; ``station``, the
    station a shared store's session came from.
    """

    def __init__(self, subject: str | None = None, subject_part: str | None = None,
                 since: str | date | datetime | None = None,
                 until: str | date | datetime | None = None, category: str | None = None,
                 position: str | None = None, status: str | None = None,
                 station: str | None = None) -> None:
        self.where: list[str] = []
        self.args: list[Any] = []
        for column, value in (("subject_code", subject), ("category", category),
                              ("position", position), ("status", status), ("station", station)):
            if value is not None:
                self.where.append(f"{column} = ?")
                self.args.append(value)
        part = (subject_part or "").strip()
        if part:
            self.where.append("contains_folded(subject_code, ?)")
            self.args.append(part.casefold())
        if since is not None:
            self.where.append("started_utc >= ?")
            self.args.append(utc_bound(since))
        if until is not None:
            self.where.append("started_utc < ?")
            self.args.append(utc_bound(until))

    @property
    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.where) if self.where else ""


def _contains_folded(text: str | None, part: str) -> bool:
    return text is not None and part in text.casefold()


def prepare_connection(conn: sqlite3.Connection) -> None:
    """Teach a connection the functions the filters use (Unicode case folding, as Python's)."""
    conn.create_function("contains_folded", 2, _contains_folded, deterministic=True)


def page(conn: sqlite3.Connection, filters: Filters, limit: int | None, offset: int = 0,
         station: bool = False) -> tuple[list[Listed], dict[int, tuple[int, float]]]:
    """The sessions of one page, newest first, and the counts it had to take from the chunks
    of ended sessions (id -> (frames, duration)), for the caller to keep. ``station``: with the
    station each came from (a shared store's column)."""
    bound, limits = ("-1", []) if limit is None else ("?", [limit])  # -1: every one
    sql = (f"SELECT {COLUMNS}{', station' if station else ''} FROM sessions{filters.sql}"
           f"{NEWEST_FIRST} LIMIT {bound} OFFSET ?")
    rows = conn.execute(sql, [*filters.args, *limits, offset]).fetchall()
    out, counted = [], {}
    for row in rows:
        if row["frame_count"] is not None:
            out.append(listed(row, row["frame_count"], row["duration_s"]))
            continue
        try:
            n, last = conn.execute(COUNTS, (row["id"],)).fetchone()
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError):
                raise
            out.append(listed(row, 0, 0.0, f"its samples cannot be counted ({err}); see "
                                            "`sotlog check`"))
            continue
        out.append(listed(row, n, last))
        if row["status"] != "recording":
            counted[row["id"]] = (int(n), float(last))
    return out, counted


def total(conn: sqlite3.Connection, filters: Filters) -> int:
    """How many sessions match ``filters``."""
    return int(conn.execute(f"SELECT count(*) FROM sessions{filters.sql}",
                            filters.args).fetchone()[0])


class Page:
    """One page of a session list, and how many sessions match in all."""

    __slots__ = ("sessions", "total", "offset")

    def __init__(self, sessions: list[Listed], total: int, offset: int) -> None:
        self.sessions = sessions
        self.total = total
        self.offset = offset

    @property
    def more(self) -> bool:
        """Whether sessions older than this page match too."""
        return self.offset + len(self.sessions) < self.total
