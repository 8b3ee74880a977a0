"""Copy a station's closed sessions into the shared PostgreSQL store, each once, each whole.

A session is copied when it is closed (complete or interrupted), with its edits, events,
samples and raw capture, in one PostgreSQL transaction: an interruption (the process killed,
the server gone) leaves none of it, and the next run copies it again. A session is known by its
uuid, so running twice copies nothing twice. Edits a station makes to a session after it was
copied, and events it adds, moves or takes out, follow on the next run (the rules for what was
changed in both places are in docs/multi-station.md). The station's own store is only read.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.errors import StoreError
from sensing.store import config
from sensing.store.config import STATION_ENV
from sensing.store.edits import EVENTS
from sensing.store.listing import COUNTS
from sensing.store.pg.rows import Tables, copy_rows, insert_returning, session_rows
from sensing.store.pg.schema import connect, one_line, prepare, psycopg_module
from sensing.store.schema import damaged
from sensing.store.storefile import StoreFile, utc_now
from sensing.store.url import redact


@dataclass
class Step:
    """One session copied: the progress a face shows."""

    done: int
    total: int
    uuid: str
    station_id: int
    nbytes: int


@dataclass
class SyncResult:
    """What one run copied, and what it left for a later one."""

    station: str
    copied: int = 0  # sessions copied by this run
    already: int = 0  # closed sessions the shared store had before
    recording: int = 0  # still recording here: copied once they close
    followed: int = 0  # copied sessions whose later edits or events this run added
    calibrations: int = 0
    nbytes: int = 0  # blob bytes copied (samples, raw capture, gains)
    seconds: float = 0.0
    unreadable: dict[int, str] = field(default_factory=dict)  # session id: why, not copied


class Sync:
    """One station's store, copied into one shared store."""

    def __init__(self, store: StoreFile, url: str, station: str | None = None) -> None:
        self.store = store
        self.url = url
        self.shown = redact(url)
        self.station = config.station(station)
        if not self.station.strip():
            raise StoreError(f"a station needs a name (--station, ${STATION_ENV} or station in the "
                             "config file)")

    def run(self, progress: Callable[[Step], None] | None = None) -> SyncResult:
        """Copy what the shared store lacks; ``progress`` hears of each session copied."""
        psycopg = psycopg_module()
        started = time.perf_counter()
        result = SyncResult(self.station)
        pg = connect(self.url, autocommit=True)
        local = self.store.connect()
        try:
            prepare(pg, self.url)
            try:
                self._run(pg, local, result, progress)
            except psycopg.OperationalError as err:
                raise StoreError(
                    f"lost the shared store at {self.shown} after copying {result.copied} "
                    f"sessions ({one_line(err, self.url)}); nothing of the session being copied "
                    "was kept: run `sotlog sync` again to go on") from err
            except psycopg.errors.UniqueViolation as err:
                if "station" not in (err.diag.constraint_name or ""):
                    raise StoreError(f"the shared store at {self.shown} refused a copy: "
                                     f"{one_line(err, self.url)}") from err
                raise StoreError(
                    f"another store already copied its sessions into {self.shown} as station "
                    f"{self.station!r}: give each station its own name (--station or "
                    f"${STATION_ENV}); nothing of the clashing session was copied") from err
            except psycopg.Error as err:
                raise StoreError(f"the shared store at {self.shown} refused a copy: "
                                 f"{one_line(err, self.url)}") from err
        finally:
            local.close()
            pg.close()
        result.seconds = time.perf_counter() - started
        return result

    def _run(self, pg: Any, local: sqlite3.Connection, result: SyncResult,
             progress: Callable[[Step], None] | None) -> None:
        try:
            tables = Tables(local, pg, self.shown)
        except sqlite3.DatabaseError as err:
            raise damaged(self.store.path, err) from err
        result.calibrations = self._calibrations(pg, local, tables)
        try:
            closed = local.execute("SELECT id, uuid FROM sessions WHERE status != 'recording' "
                                   "ORDER BY id").fetchall()
            result.recording = local.execute(
                "SELECT count(*) FROM sessions WHERE status = 'recording'").fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise damaged(self.store.path, err, "the session list") from err
        with pg.cursor() as cur:
            cur.execute("SELECT uuid FROM sessions WHERE uuid = ANY(%s)",
                        ([r["uuid"] for r in closed],))
            present = {u for (u,) in cur.fetchall()}
        todo = [(r["id"], r["uuid"]) for r in closed if r["uuid"] not in present]
        result.already = len(closed) - len(todo)
        for sid, uuid in todo:
            try:
                nbytes = self._session(pg, local, tables, sid)
            except sqlite3.DatabaseError as err:  # this session's pages: copy the others
                if isinstance(err, sqlite3.OperationalError):
                    raise StoreError(f"cannot read {self.store.path}: {err}") from err
                result.unreadable[sid] = f"{err}; `sotlog check` says what still reads"
                continue
            if nbytes is None:  # another run copied it meanwhile
                result.already += 1
                continue
            result.copied += 1
            result.nbytes += nbytes
            if progress:
                progress(Step(result.copied, len(todo), uuid, sid, nbytes))
        result.followed = self._follow(pg, local, tables)

    def _session(self, pg: Any, local: sqlite3.Connection, tables: Tables,
                 sid: int) -> int | None:
        """Copy one session in one transaction (its blob bytes), or None if it is there."""
        local.execute("BEGIN")  # one snapshot of the session's rows
        try:
            row = local.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
            values = {c: row[c] for c in tables.copied("sessions")}
            if "frame_count" in values and values["frame_count"] is None:
                values["frame_count"], values["duration_s"] = local.execute(
                    COUNTS, (sid,)).fetchone()  # what the station's list would keep
            values.update(station=self.station, station_id=sid, synced_utc=utc_now())
            with pg.transaction(), pg.cursor() as cur:
                new_id = insert_returning(cur, "sessions", values, unique="uuid")
                if new_id is None:
                    return None
                return self._children(cur, local, tables, sid, new_id, 0, 0, new=True)
        finally:
            local.execute("COMMIT")

    def _children(self, cur: Any, local: sqlite3.Connection, tables: Tables, sid: int,
                  new_id: int, edits_after: int, events_after: int, *, new: bool) -> int:
        """Copy a session's edits and events after the ids given, and (a ``new`` session) its
        samples and raw capture; the blob bytes copied."""
        self._edits(cur, local, tables, sid, new_id, edits_after)
        events = ["session_id", *tables.copied("events"), "station_id"]
        copy_rows(cur, "events", events, tables.types["events"],
                  session_rows(local, "events", events, sid, new_id, "id", events_after))
        if not new:
            return 0
        nbytes = 0
        for table, order in (("chunks", "first_index"), ("raw", "chunk_index")):
            cols = ["session_id", *tables.copied(table)]
            nbytes += copy_rows(cur, table, cols, tables.types[table],
                                session_rows(local, table, cols, sid, new_id, order))[1]
        return nbytes

    def _edits(self, cur: Any, local: sqlite3.Connection, tables: Tables, sid: int, new_id: int,
               after: int) -> None:
        """Copy the edit log after ``after``, each undo linked to the copy of what it undoes."""
        cur.execute("SELECT station_id, id FROM session_edits WHERE session_id = %s "
                    "AND station_id IS NOT NULL", (new_id,))
        ids = dict(cur.fetchall())
        for e in local.execute("SELECT * FROM session_edits WHERE session_id = ? AND id > ? "
                               "ORDER BY id", (sid, after)).fetchall():
            values = {c: e[c] for c in tables.copied("session_edits")}
            if values.get("undoes") is not None:
                values["undoes"] = ids[values["undoes"]]
            values.update(session_id=new_id, station_id=e["id"])
            ids[e["id"]] = insert_returning(cur, "session_edits", values)

    def _follow(self, pg: Any, local: sqlite3.Connection, tables: Tables) -> int:
        """Copy edits this station made to sessions after they were copied, bring their events
        along and apply the edited fields, by the rules of docs/multi-station.md; how many
        sessions."""
        with pg.cursor() as cur:
            cur.execute(
                "SELECT s.station_id, s.id, "
                "coalesce((SELECT max(station_id) FROM session_edits e WHERE e.session_id = s.id),"
                " 0), coalesce(greatest("
                "(SELECT max(station_id) FROM events v WHERE v.session_id = s.id),"
                # a station's event the shared store took out was copied all the same
                " (SELECT max((o->>'station_id')::bigint) FROM session_edits x, "
                "json_array_elements(x.old_json::json) o WHERE x.session_id = s.id AND "
                "x.field = %s AND x.station_id IS NULL)), 0) "
                "FROM sessions s WHERE s.station = %s", (EVENTS, self.station))
            there = {r[0]: r[1:] for r in cur.fetchall()}
        edits = dict(local.execute("SELECT session_id, max(id) FROM session_edits "
                                   "GROUP BY session_id").fetchall())
        events = dict(local.execute("SELECT session_id, max(id) FROM events "
                                    "GROUP BY session_id").fetchall())
        behind = [sid for sid, (_, e, v) in there.items()
                  if edits.get(sid, 0) > e or events.get(sid, 0) > v]
        for sid in behind:
            new_id, edits_after, events_after = there[sid]
            local.execute("BEGIN")
            try:
                with pg.transaction(), pg.cursor() as cur:
                    self._edits(cur, local, tables, sid, new_id, edits_after)
                    self._events(cur, local, tables, sid, new_id, edits_after, events_after)
                    self._apply(cur, local, tables, sid, new_id, edits_after)
            finally:
                local.execute("COMMIT")
        return len(behind)

    def _events(self, cur: Any, local: sqlite3.Connection, tables: Tables, sid: int,
                new_id: int, edits_after: int, events_after: int) -> None:
        """Bring a copied session's events to the station's: replay the station's events edits
        after ``edits_after`` (a move or a confirm takes an event out and puts it back changed,
        a deletion takes it out), then add the events it put in and those it added after
        ``events_after``, as they are now. An edit that takes out an event the shared store
        changed or took out since it was copied is not applied (docs/multi-station.md)."""
        cur.execute("SELECT station_id FROM events WHERE session_id = %s "
                    "AND station_id IS NOT NULL", (new_id,))
        there = {r[0] for r in cur.fetchall()}
        put_in: set[int] = set()
        kept: set[int] = set()  # put in by an edit not applied: the shared store's change stands
        for old_json, new_json in local.execute(
                "SELECT old_json, new_json FROM session_edits WHERE session_id = ? AND id > ? "
                "AND field = ? ORDER BY id", (sid, edits_after, EVENTS)).fetchall():
            out = [int(e["id"]) for e in json.loads(old_json or "[]")]
            into = {int(e["id"]) for e in json.loads(new_json or "[]")}
            if any(e <= events_after and e not in there and e not in put_in for e in out):
                kept |= into
                continue
            cur.execute("DELETE FROM events WHERE session_id = %s AND station_id = ANY(%s)",
                        (new_id, out))
            there -= set(out)
            put_in = (put_in - set(out)) | into
            kept -= into
        wanted = (put_in - kept) - there
        cols = ["session_id", *tables.copied("events"), "station_id"]
        at = cols.index("station_id")
        copy_rows(cur, "events", cols, tables.types["events"],
                  (r for r in session_rows(local, "events", cols, sid, new_id, "id")
                   if r[at] in wanted or (r[at] > events_after and r[at] not in there | kept)))

    def _apply(self, cur: Any, local: sqlite3.Connection, tables: Tables, sid: int, new_id: int,
               after: int) -> None:
        """Each field the station edited takes the station's value, unless the shared store
        holds a later edit of that field made there (station_id NULL)."""
        cols = set(tables.local["sessions"])
        row = local.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        for name, at_utc in local.execute(
                "SELECT field, max(at_utc) FROM session_edits WHERE session_id = ? AND id > ? "
                "GROUP BY field", (sid, after)).fetchall():
            col = name if name in cols else f"{name}_json"
            if col not in cols:
                continue
            # A conversion changes the force read, so the visit kept with it goes along (the
            # station's, worked out again for it or none yet), as sensing.store.edits does.
            also = ", visit_json = %s" if col == "conversion_json" else ""
            cur.execute(f"UPDATE sessions SET {col} = %s{also} WHERE id = %s AND NOT EXISTS ("
                        "SELECT 1 FROM session_edits WHERE session_id = %s AND field = %s "
                        "AND station_id IS NULL AND at_utc > %s)",
                        (row[col], *([row["visit_json"]] if also else []), new_id, new_id,
                         name, at_utc))

    def _calibrations(self, pg: Any, local: sqlite3.Connection, tables: Tables) -> int:
        """Copy the calibrations the shared store lacks, each run's batch kept together."""
        with pg.cursor() as cur:
            cur.execute("SELECT station_id, id FROM calibrations WHERE station = %s",
                        (self.station,))
            ids = dict(cur.fetchall())
        rows = [r for r in local.execute("SELECT * FROM calibrations ORDER BY id").fetchall()
                if r["id"] not in ids]
        if not rows:
            return 0
        with pg.transaction(), pg.cursor() as cur:
            for r in rows:
                values = {c: r[c] for c in tables.copied("calibrations")}
                values["batch"] = ids.get(values["batch"], values["batch"])
                values.update(station=self.station, station_id=r["id"])
                new_id = insert_returning(cur, "calibrations", values)
                assert new_id is not None
                ids[r["id"]] = new_id
                if r["batch"] == r["id"]:  # a run's first row names its own batch
                    cur.execute("UPDATE calibrations SET batch = id WHERE id = %s", (new_id,))
        return len(rows)
