"""`sotlog sessions --store postgresql://…`: every station's sessions in one list, with a station
column, filtered and paged by PostgreSQL, each row what the station's own list says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.sensing.sync.conftest import sotlog


@pytest.fixture
def shared(station_stores: list[Path], pg_url: str) -> str:
    for i, store in enumerate(station_stores, start=1):
        done = sotlog("sync", "--to", pg_url, "--store", str(store), "--station", f"room{i}")
        assert done.returncode == 0, done.stderr
    return pg_url


def listing(*args: str) -> list[dict[str, object]]:
    done = sotlog("sessions", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_shared_list_is_every_stations_list_with_a_station(
        shared: str, station_stores: list[Path]) -> None:
    everything = listing("--store", shared, "--limit", "100")
    assert len(everything) == 6
    started = [s["started_utc"] for s in everything]
    assert started == sorted(started, reverse=True)  # newest first
    for i, store in enumerate(station_stores, start=1):
        own = {s["uuid"]: s for s in listing("--store", str(store))}
        theirs = {s["uuid"]: s for s in everything if s["station"] == f"room{i}"}
        assert own.keys() == theirs.keys()
        for uuid, row in own.items():
            assert {k: v for k, v in theirs[uuid].items() if k not in ("id", "station")} == \
                {k: v for k, v in row.items() if k != "id"}


def test_filters_and_pages_run_on_the_server(shared: str) -> None:
    room2 = listing("--store", shared, "--station", "room2")
    assert sorted(s["subject_code"] for s in room2) == ["P-0021", "P-0022"]
    assert {s["station"] for s in room2} == {"room2"}
    assert [s["station"] for s in listing("--store", shared, "--subject", "P-0031")] == ["room3"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert listing("--store", shared, "--since", tomorrow) == []
    assert len(listing("--store", shared, "--until", tomorrow)) == 6
    first, second = (listing("--store", shared, "--limit", "4", "--offset", str(n))
                     for n in (0, 4))
    assert len(first) == 4 and len(second) == 2
    assert {s["uuid"] for s in first}.isdisjoint(s["uuid"] for s in second)
    paged = sotlog("sessions", "--store", shared, "--limit", "4")
    assert "sessions 1-4 of 6" in paged.stderr and "STATION" in paged.stdout.splitlines()[0]


def test_a_password_in_the_url_is_never_shown(shared: str) -> None:
    url = shared.replace("postgresql://sotlog@", "postgresql://sotlog:hunter2@")
    done = sotlog("sessions", "--store", url, "--limit", "2")
    assert done.returncode == 0 and "hunter2" not in done.stdout + done.stderr
    wrong = sotlog("sessions", "--store", url.replace("?host=", "_missing?host="))
    assert wrong.returncode == 2
    assert "hunter2" not in wrong.stderr and "sotlog:***@" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_station_on_one_stations_store_is_one_line(station_stores: list[Path]) -> None:
    done = sotlog("sessions", "--store", str(station_stores[0]), "--station", "room1")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "shared store" in done.stderr
