"""The sync in a thread beside a recording: kicked when a session closes, failing in one line
while the server is away, and catching up when it is back."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from sensing.store.config import STATION_ENV
from sensing.store.pg.background import BackgroundSync
from sensing.store.url import SHARED_ENV
from tests.sensing.sync.conftest import SIM, record, sotlog
from tests.sensing.sync.pgserver import Server
from tests.sensing.sync.shared import local_rows, uuids

SECRET = "b4ckgr0und"


def test_background_sync_catches_up_after_the_server_was_away(
        pg_server: Server | None, station_stores: list[Path], pg_url: str,
        tmp_path: Path) -> None:
    if pg_server is None:
        pytest.skip("$SOTLOG_TEST_POSTGRES names a server these tests may not stop")
    store = Path(shutil.copy(station_stores[0], tmp_path / "room1.sqlite3"))
    url = pg_url.replace("postgresql://sotlog@", f"postgresql://sotlog:{SECRET}@")
    sync = BackgroundSync(store, url, "room1", interval=600).start()
    try:
        sync.kick()
        assert sync.wait_for_run(0, timeout=60)
        assert sync.error == "" and sync.last is not None and sync.last.copied == 2
        pg_server.stop()
        try:
            record(store, seed=7)  # the station records on, the server away
            sync.kick()
            assert sync.wait_for_run(1, timeout=60)
            assert sync.error and SECRET not in sync.error and "\n" not in sync.error
        finally:
            pg_server.start()
        assert sync.wait_for_run(2, timeout=60)  # the retry, a few seconds later
        assert sync.error == "", sync.error
    finally:
        sync.stop()
    everything = sorted(r["uuid"] for r in local_rows(store, "SELECT uuid FROM sessions"))
    assert len(everything) == 3 and uuids(pg_url) == everything


def test_record_copies_its_session_to_the_shared_store_it_is_given(
        pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "room4.sqlite3"
    done = sotlog("record", "--port", SIM.format(seed=41), "--profile", "sim-loadcells",
                  "--duration", "2", "--subject", "P-0041", "--store", str(store),
                  env={SHARED_ENV: pg_url, STATION_ENV: "room4"})
    assert done.returncode == 0, done.stderr
    everything = sorted(r["uuid"] for r in local_rows(store, "SELECT uuid FROM sessions"))
    assert len(everything) == 1 and uuids(pg_url) == everything  # copied before record exited


def test_a_shared_store_that_is_not_postgresql_is_one_line_before_recording(
        tmp_path: Path) -> None:
    store = tmp_path / "room5.sqlite3"
    done = sotlog("record", "--port", SIM.format(seed=42), "--profile", "sim-loadcells",
                  "--duration", "1", "--store", str(store),
                  env={SHARED_ENV: f"sqlite:///{tmp_path / 'other.sqlite3'}"})
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "the shared store is a PostgreSQL URL" in done.stderr.strip().splitlines()[-1]


def test_record_says_in_one_line_when_the_shared_store_did_not_take_its_session(
        tmp_path: Path) -> None:
    store = tmp_path / "room6.sqlite3"
    away = f"postgresql://sotlog:{SECRET}@127.0.0.1:9/sotlog?connect_timeout=2"
    done = sotlog("record", "--port", SIM.format(seed=43), "--profile", "sim-loadcells",
                  "--duration", "1", "--store", str(store),
                  env={SHARED_ENV: away, STATION_ENV: "room6"})
    assert done.returncode == 0, done.stderr  # recorded: the network is not the recording
    said = [line for line in done.stderr.splitlines() if "not copied to the shared store" in line]
    assert len(said) == 1 and said[0].startswith("sotlog: warning: "), done.stderr
    assert SECRET not in done.stderr and "sotlog sync" in said[0]
    assert len(local_rows(store, "SELECT uuid FROM sessions")) == 1


def test_record_waits_at_most_at_exit_s_for_a_shared_store_that_does_not_answer(
        tmp_path: Path) -> None:
    """A server that takes the connection and never speaks (a network half gone): `record`
    exits after ``[sync] at_exit_s``, not after the connection's own timeout, and says in one
    line that its session was not copied."""
    listener = socket.create_server(("127.0.0.1", 0))  # accepts into its backlog, never replies
    port = listener.getsockname()[1]
    config = tmp_path / "sotlog.toml"
    config.write_text("[sync]\nat_exit_s = 1\n")
    silent = f"postgresql://sotlog:{SECRET}@127.0.0.1:{port}/sotlog?connect_timeout=30"
    with listener:
        began = time.monotonic()
        done = sotlog("record", "--config", str(config), "--port", SIM.format(seed=44),
                      "--profile", "sim-loadcells", "--duration", "1",
                      "--store", str(tmp_path / "room7.sqlite3"),
                      env={SHARED_ENV: silent, STATION_ENV: "room7"})
        took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert took < 8, took  # start-up, 1 s recorded, 1 s waited (it was 11.7 s: 10 s more)
    said = [line for line in done.stderr.splitlines() if "not copied to the shared store" in line]
    assert len(said) == 1 and "no answer from the shared store within 1 s" in said[0], said
    assert len(local_rows(tmp_path / "room7.sqlite3", "SELECT uuid FROM sessions")) == 1
