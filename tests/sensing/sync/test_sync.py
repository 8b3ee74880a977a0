"""`sotlog sync` against a real PostgreSQL server: every closed session once, whole, byte for
byte, whatever stops a run (the process killed, the server stopped) and however many stations."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from sensing.calibration.fit import Calibration
from sensing.store.calibrations import CalibrationStore
from sensing.store.pg.schema import prepare
from sensing.store.sessions import Store
from tests.sensing.sync.conftest import sotlog
from tests.sensing.sync.pgserver import Server
from tests.sensing.sync.shared import assert_same_session, local_rows, pg_rows, uuids

SECRET = "pa55-w0rd"


def with_password(url: str) -> str:
    """The same URL with a password (the test server trusts the socket, so any will do)."""
    return url.replace("postgresql://sotlog@", f"postgresql://sotlog:{SECRET}@")


def closed(store: Path) -> list[str]:
    return sorted(r["uuid"] for r in local_rows(
        store, "SELECT uuid FROM sessions WHERE status != 'recording'"))


def copy_store(store: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(store, folder / store.name))


def sync(store: Path, url: str, station: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return sotlog("sync", "--to", url, "--store", str(store), "--station", station, *extra)


def test_sync_twice_copies_each_session_once_whole(station_stores: list[Path], pg_url: str,
                                                   tmp_path: Path) -> None:
    store = copy_store(station_stores[0], tmp_path)
    sid = local_rows(store, "SELECT id FROM sessions ORDER BY id")[0]["id"]
    edits = Store.open(store)
    edits.update_meta(sid, {"category": "II", "note": "blocks moved once"}, reason="typo")
    edits.undo_edit(sid)  # an undo links to the edit it undoes: the link must follow
    edits.add_event(sid, "marker", "noted on review", time_s=1.0)
    gains = np.arange(12, dtype="<f4").reshape(3, 4)
    CalibrationStore(edits).add([Calibration("mat", "mat_equilibration", "N", [], None,
                                             profile_name="sim-mat", gains=gains)
                                 for _ in range(2)])

    first = sync(store, pg_url, "room1")
    assert first.returncode == 0, first.stderr
    assert "copied 2/2" in first.stderr and "2 sessions copied" in first.stdout
    again = sync(store, pg_url, "room1")
    assert again.returncode == 0, again.stderr
    assert "0 sessions copied" in again.stdout and "2 there before" in again.stdout

    assert uuids(pg_url) == closed(store)
    compared = sum(assert_same_session(store, pg_url, "room1", u) for u in closed(store))
    assert compared > 10_000  # samples and raw capture were compared, not just counted
    undo = pg_rows(pg_url, "SELECT e.undoes, u.station_id AS undone FROM session_edits e "
                           "JOIN session_edits u ON u.id = e.undoes")
    local_undo = local_rows(store, "SELECT undoes FROM session_edits WHERE undoes IS NOT NULL")
    assert [r["undone"] for r in undo] == [r["undoes"] for r in local_undo] and undo
    cals = pg_rows(pg_url, "SELECT id, batch, station_id, gains FROM calibrations ORDER BY id")
    assert [c["station_id"] for c in cals] == [1, 2]
    assert {c["batch"] for c in cals} == {cals[0]["id"]}  # the run's batch, in shared ids
    assert bytes(cals[1]["gains"]) == local_rows(store, "SELECT gains FROM calibrations")[1][0]


def test_edits_made_after_a_sync_follow_on_the_next(station_stores: list[Path], pg_url: str,
                                                    tmp_path: Path) -> None:
    store = copy_store(station_stores[1], tmp_path)
    assert sync(store, pg_url, "room2").returncode == 0
    sid = local_rows(store, "SELECT id FROM sessions ORDER BY id")[0]["id"]
    Store.open(store).update_meta(sid, {"subject_code": "P-0999"}, reason="wrong pseudonym")
    done = sync(store, pg_url, "room2")
    assert done.returncode == 0, done.stderr
    assert "1 with later edits or events" in done.stdout
    uuid = local_rows(store, "SELECT uuid FROM sessions WHERE id = ?", (sid,))[0]["uuid"]
    assert_same_session(store, pg_url, "room2", uuid)
    assert pg_rows(pg_url, "SELECT subject_code FROM sessions WHERE uuid = %s",
                   (uuid,))[0]["subject_code"] == "P-0999"


def test_events_moved_or_taken_out_after_a_sync_follow_on_the_next(
        station_stores: list[Path], pg_url: str, tmp_path: Path) -> None:
    store = copy_store(station_stores[0], tmp_path)
    sid, uuid = local_rows(store, "SELECT id, uuid FROM sessions ORDER BY id")[0]
    station = Store.open(store)
    moving, going, both = (station.add_event(sid, "marker", f"mark {i}", time_s=0.5 + i)
                           for i in range(3))
    assert sync(store, pg_url, "room1").returncode == 0

    def row(eid: int) -> dict[str, object]:
        return dict(local_rows(store, "SELECT id, host_time, kind, text, source, created_utc "
                                      "FROM events WHERE id = ?", (eid,))[0])

    def shared_events() -> dict[int, float]:
        return {r["station_id"]: round(r["t"], 3) for r in pg_rows(
            pg_url, "SELECT e.station_id, e.host_time - s.t0_host AS t FROM events e JOIN "
                    "sessions s ON s.id = e.session_id WHERE s.uuid = %s", (uuid,))}

    moved = row(moving)
    station.change_events(sid, [moving], [{**moved, "host_time": moved["host_time"] + 2}],
                          reason="placed later")  # a move, as the session page makes it
    station.change_events(sid, [going], [], reason="marked twice")

    done = sync(store, pg_url, "room1")
    assert done.returncode == 0, done.stderr
    assert "1 with later edits or events" in done.stdout
    assert_same_session(store, pg_url, "room1", uuid)  # every event, as the station has it
    assert shared_events()[moving] == 2.5 and going not in shared_events()
    history = pg_rows(pg_url, "SELECT old_json, new_json FROM session_edits e JOIN sessions s "
                              "ON s.id = e.session_id WHERE s.uuid = %s AND field = 'events' "
                              "ORDER BY e.station_id", (uuid,))
    (was, now), (gone, none) = ([json.loads(r[k]) for k in ("old_json", "new_json")]
                                for r in history)
    assert [was[0]["time_s"], now[0]["time_s"]] == [0.5, 2.5]  # both versions
    assert gone[0]["id"] == going and none == []

    # The shared store takes out an event; the station then moves it: the shared store's stands.
    central = pg_rows(pg_url, "SELECT e.id, e.session_id FROM events e JOIN sessions s ON "
                              "s.id = e.session_id WHERE s.uuid = %s AND e.station_id = %s",
                      (uuid, both))[0]
    Store.open(pg_url).change_events(central["session_id"], [central["id"]], [], "not needed")
    later = row(both)
    station.change_events(sid, [both], [{**later, "host_time": later["host_time"] + 1}])
    assert sync(store, pg_url, "room1").returncode == 0
    assert both not in shared_events() and shared_events()[moving] == 2.5
    again = sync(store, pg_url, "room1")
    assert "0 with later edits or events" in again.stdout, again.stdout


def test_a_conversion_edited_after_a_sync_takes_its_visit_along(
        station_stores: list[Path], pg_url: str, tmp_path: Path) -> None:
    store = copy_store(station_stores[2], tmp_path)
    assert sync(store, pg_url, "room3").returncode == 0
    row = local_rows(store, "SELECT id, uuid, subject_code, conversion_json, visit_json "
                            "FROM sessions ORDER BY id")[0]
    assert row["visit_json"]  # kept when the recording ended, and copied with the session
    Store.open(store).set_conversion(row["id"], {"tare": {"left": 8000.0}}, reason="re-tare")
    assert sync(store, pg_url, "room3").returncode == 0
    query = "SELECT conversion_json, visit_json FROM sessions WHERE uuid = %s"
    shared = pg_rows(pg_url, query, (row["uuid"],))[0]
    assert shared == {"conversion_json": '{"tare":{"left":8000.0}}', "visit_json": None}
    listed = sotlog("sessions", "--store", pg_url, "--subject", row["subject_code"], "--json")
    assert listed.returncode == 0, listed.stderr
    mine = sotlog("sessions", "--store", str(store), "--subject", row["subject_code"], "--json")
    assert [s["visit"] for s in json.loads(listed.stdout)] == \
        [s["visit"] for s in json.loads(mine.stdout)]
    assert pg_rows(pg_url, query, (row["uuid"],))[0]["visit_json"]  # worked out and kept


def stalled_at_chunks(url: str) -> psycopg.Connection:
    """A connection holding the chunks table: a sync waits inside its first session's
    transaction, after the session row and before its samples."""
    with psycopg.connect(url, autocommit=True) as conn:
        prepare(conn, url)
    holder = psycopg.connect(url)
    holder.execute("LOCK TABLE chunks IN EXCLUSIVE MODE")
    return holder


def wait_for_lock_wait(url: str, timeout: float = 60, syncs: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = pg_rows(url, "SELECT count(*) AS n FROM pg_stat_activity "
                               "WHERE wait_event_type = 'Lock' AND datname = current_database()")
        if waiting[0]["n"] >= syncs:
            return
        time.sleep(0.05)
    raise AssertionError("the sync never reached the chunks")


def start_sync(store: Path, url: str, station: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dashboard.cli", "sync", "--to", url,
                             "--store", str(store), "--station", station],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_a_sync_killed_mid_session_leaves_nothing_and_the_next_run_completes(
        station_stores: list[Path], pg_url: str, tmp_path: Path) -> None:
    store = copy_store(station_stores[2], tmp_path)
    holder = stalled_at_chunks(pg_url)
    proc = start_sync(store, pg_url, "room3")
    try:
        wait_for_lock_wait(pg_url)
        assert uuids(pg_url) == []  # the session row is there only inside its transaction
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        holder.close()  # the killed run's transaction meets a closed socket and is rolled back
    assert uuids(pg_url) == []
    done = sync(store, pg_url, "room3")
    assert done.returncode == 0, done.stderr
    assert uuids(pg_url) == closed(store)
    for u in closed(store):
        assert_same_session(store, pg_url, "room3", u)


def test_the_server_stopped_mid_sync_is_one_line_and_the_next_run_completes(
        pg_server: Server | None, station_stores: list[Path], pg_url: str,
        tmp_path: Path) -> None:
    if pg_server is None:
        pytest.skip("$SOTLOG_TEST_POSTGRES names a server these tests may not stop")
    store = copy_store(station_stores[0], tmp_path)
    url = with_password(pg_url)
    holder = stalled_at_chunks(pg_url)
    proc = start_sync(store, url, "room1")
    try:
        wait_for_lock_wait(pg_url)
        pg_server.stop()  # fast: every connection, the sync's and the holder's, is ended
        out, err = proc.communicate(timeout=60)
    finally:
        holder.close()
        pg_server.start()
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "run `sotlog sync` again" in err, err
    assert SECRET not in err + out and "sotlog:***@" in err
    assert uuids(pg_url) == []
    done = sync(store, url, "room1")
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert uuids(pg_url) == closed(store)


def test_three_stations_sync_into_one_server_at_once(station_stores: list[Path],
                                                     pg_url: str) -> None:
    procs = [start_sync(store, pg_url, f"room{i}")
             for i, store in enumerate(station_stores, start=1)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    everything = sorted(u for store in station_stores for u in closed(store))
    assert uuids(pg_url) == everything and len(everything) == 6
    for i, store in enumerate(station_stores, start=1):
        for u in closed(store):
            assert_same_session(store, pg_url, f"room{i}", u)
    by_station = pg_rows(pg_url, "SELECT station, count(*) AS n FROM sessions GROUP BY station "
                                 "ORDER BY station")
    assert [(r["station"], r["n"]) for r in by_station] == [("room1", 2), ("room2", 2),
                                                            ("room3", 2)]


def test_two_stores_under_one_station_name_is_one_line(station_stores: list[Path],
                                                       pg_url: str) -> None:
    assert sync(station_stores[0], pg_url, "room1").returncode == 0
    clash = sync(station_stores[1], pg_url, "room1")
    assert clash.returncode == 2
    assert len(clash.stderr.strip().splitlines()) == 1 and "its own name" in clash.stderr
    assert len(uuids(pg_url)) == 2  # the first station's, and nothing of the second


def test_a_session_still_recording_waits(station_stores: list[Path], pg_url: str,
                                         tmp_path: Path) -> None:
    store = copy_store(station_stores[0], tmp_path)
    conn = __import__("sqlite3").connect(store)
    conn.execute("UPDATE sessions SET status = 'recording', pid = NULL WHERE id = 2")
    conn.commit()
    conn.close()
    done = sync(store, pg_url, "room1")
    assert done.returncode == 0, done.stderr
    assert "1 still recording" in done.stdout
    assert uuids(pg_url) == [local_rows(store, "SELECT uuid FROM sessions WHERE id = 1")[0][0]]


def test_sessions_that_cannot_be_read_are_each_named_and_not_half_copied(
        station_stores: list[Path], pg_url: str, tmp_path: Path) -> None:
    store = copy_store(station_stores[0], tmp_path)
    uuid_of = {r["id"]: r["uuid"] for r in local_rows(store, "SELECT id, uuid FROM sessions")}
    with sqlite3.connect(store) as conn:  # the chunks table's root page overwritten
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'chunks'"
                            ).fetchone()[0]
    size = 4096
    with open(store, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(b"\xff" * size)
    done = sync(store, pg_url, "room1")
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode in (1, 2), done.stderr
    if done.returncode == 2:  # the damage reached what every session needs: one line
        assert len(done.stderr.strip().splitlines()) == 1 and "sotlog check" in done.stderr
        return
    named = [line for line in done.stderr.splitlines() if "not copied" in line]
    assert named and all("sotlog check" in line for line in named)
    missing = {int(line.split()[2]) for line in named}
    assert set(uuids(pg_url)) == {u for sid, u in uuid_of.items() if sid not in missing}


def test_three_stations_record_on_while_one_sync_is_killed_and_the_server_stops(
        pg_server: Server | None, station_stores: list[Path], pg_url: str,
        tmp_path: Path) -> None:
    """The issue's run: three stations sync at once and record meanwhile; one sync is killed,
    the server stops under the others and comes back; then every session is there once."""
    if pg_server is None:
        pytest.skip("$SOTLOG_TEST_POSTGRES names a server these tests may not stop")
    stores = [copy_store(s, tmp_path / f"station{i}") for i, s in enumerate(station_stores, 1)]
    holder = stalled_at_chunks(pg_url)
    syncs = [start_sync(store, pg_url, f"room{i}") for i, store in enumerate(stores, 1)]
    recording = [subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib; from tests.sensing.sync.conftest import "
         "record; record(pathlib.Path(sys.argv[1]), int(sys.argv[2]))", str(store), str(40 + i)])
        for i, store in enumerate(stores, 1)]
    try:
        wait_for_lock_wait(pg_url, syncs=3)
        syncs[1].send_signal(signal.SIGKILL)
        assert syncs[1].wait(timeout=30) == -signal.SIGKILL
        pg_server.stop()
        for p in (syncs[0], syncs[2]):
            out, err = p.communicate(timeout=60)
            assert p.returncode == 2 and "run `sotlog sync` again" in err, err
    finally:
        holder.close()
        pg_server.start()
    assert [p.wait(timeout=120) for p in recording] == [0, 0, 0]
    assert uuids(pg_url) == []
    again = [start_sync(store, pg_url, f"room{i}") for i, store in enumerate(stores, 1)]
    for p in again:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    everything = sorted(u for store in stores for u in closed(store))
    assert len(everything) == 9 and uuids(pg_url) == everything
    for i, store in enumerate(stores, 1):
        for u in closed(store):
            assert_same_session(store, pg_url, f"room{i}", u)
