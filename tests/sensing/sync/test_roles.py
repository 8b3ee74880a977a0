"""The roles of docs/multi-station.md, run as written against a real server: a station adds and
changes only its own sessions; a viewer reads every station's and writes nothing."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from sensing.store.pg.schema import prepare
from tests.sensing.sync.conftest import sotlog

DOC = Path(__file__).parents[3] / "docs" / "multi-station.md"
ROLES = ("room1", "room2", "reader", "sotlog_station", "sotlog_viewer")


def roles_sql() -> str:
    after = DOC.read_text().split("## Roles", 1)[1]
    found = re.search(r"```sql\n(.*?)```", after, re.S)
    assert found, "docs/multi-station.md has no SQL block under ## Roles"
    return found.group(1)


def as_role(url: str, role: str) -> str:
    return url.replace("postgresql://sotlog@", f"postgresql://{role}@")


@pytest.fixture
def roles(pg_url: str) -> Iterator[str]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        prepare(conn, pg_url)
        conn.execute(roles_sql())
    try:
        yield pg_url
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {', '.join(ROLES)}")
            for role in ROLES:
                conn.execute(f"DROP ROLE {role}")


def listed(url: str) -> list[dict[str, object]]:
    done = sotlog("sessions", "--json", "--store", url)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_station_writes_its_own_sessions_and_a_viewer_only_reads(
        roles: str, station_stores: list[Path]) -> None:
    room1, room2, reader = (as_role(roles, r) for r in ("room1", "room2", "reader"))
    sync = [sotlog("sync", "--to", room1, "--store", str(station_stores[0]), "--station", "room1"),
            sotlog("sync", "--to", room2, "--store", str(station_stores[1]), "--station", "room2")]
    assert [s.returncode for s in sync] == [0, 0], [s.stderr for s in sync]

    posing = sotlog("sync", "--to", room1, "--store", str(station_stores[2]), "--station", "room3")
    assert posing.returncode == 2 and "row-level security" in posing.stderr
    assert len(posing.stderr.strip().splitlines()) == 1

    assert {s["station"] for s in listed(room1)} == {"room1"} and len(listed(room1)) == 2
    assert len(listed(reader)) == 4
    with psycopg.connect(room1) as conn:  # another station's sessions cannot be changed
        changed = conn.execute("UPDATE sessions SET note = 'x' WHERE station = 'room2'")
        assert changed.rowcount == 0
        assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] > 0
    with psycopg.connect(reader) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE sessions SET note = 'x'")
    viewer_sync = sotlog("sync", "--to", reader, "--store", str(station_stores[2]),
                         "--station", "reader")
    assert viewer_sync.returncode == 2 and "permission denied" in viewer_sync.stderr


def test_a_station_cannot_add_samples_to_another_stations_session(
        roles: str, station_stores: list[Path]) -> None:
    room1, room2 = as_role(roles, "room1"), as_role(roles, "room2")
    assert sotlog("sync", "--to", room2, "--store", str(station_stores[1]),
                  "--station", "room2").returncode == 0
    with psycopg.connect(roles) as conn:
        theirs = conn.execute("SELECT id FROM sessions WHERE station = 'room2'").fetchone()[0]
    with psycopg.connect(room1) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege), \
            conn.cursor().copy("COPY events (session_id, host_time, kind, created_utc, source) "
                               "FROM STDIN") as copy:
        copy.write_row((theirs, 1.0, "note", "2026-01-01T00:00:00Z", "person"))


def test_a_station_takes_out_its_own_sessions_events_only(
        roles: str, station_stores: list[Path], tmp_path: Path) -> None:
    from sensing.store.sessions import Store

    room1, room2 = as_role(roles, "room1"), as_role(roles, "room2")
    store = Path(shutil.copy(station_stores[0], tmp_path / "room1.sqlite3"))
    local = Store.open(store)
    sid = local.sessions()[0].id
    marker = local.add_event(sid, "marker", "marked twice", time_s=1.0)
    for url, path, name in ((room1, store, "room1"), (room2, station_stores[1], "room2")):
        done = sotlog("sync", "--to", url, "--store", str(path), "--station", name)
        assert done.returncode == 0, done.stderr
    local.change_events(sid, [marker], [], reason="marked twice")
    done = sotlog("sync", "--to", room1, "--store", str(store), "--station", "room1")
    assert done.returncode == 0, done.stderr
    with psycopg.connect(roles) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE station_id = %s AND session_id "
                            "IN (SELECT id FROM sessions WHERE station = 'room1')",
                            (marker,)).fetchone()[0] == 0
        theirs = conn.execute("SELECT session_id FROM events WHERE session_id IN "
                              "(SELECT id FROM sessions WHERE station = 'room2')").fetchone()[0]
    with psycopg.connect(room1) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM events WHERE session_id = %s", (theirs,))
