"""The PostgreSQL schema is SQLite's, column for column, with one numbered migration history;
PostgreSQL is an optional extra that recording never needs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg

from sensing.store import schema as sqlite_schema
from sensing.store.pg import schema as pg_schema
from sensing.store.pg.rows import TABLES


def sqlite_columns(path: Path) -> dict[str, list[str]]:
    conn = sqlite_schema.connect(path)
    try:
        sqlite_schema.prepare(conn, path)
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in TABLES}
    finally:
        conn.close()


def test_both_backends_have_the_same_tables_columns_and_version(pg_url: str,
                                                                tmp_path: Path) -> None:
    assert pg_schema.SCHEMA_VERSION == sqlite_schema.SCHEMA_VERSION
    local = sqlite_columns(tmp_path / "s.sqlite3")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert pg_schema.prepare(conn, pg_url) == pg_schema.SCHEMA_VERSION
        for table in TABLES:
            shared = list(pg_schema.columns(conn, table))
            extra = pg_schema.STATION_COLUMNS.get(table, set())
            assert [c for c in shared if c not in extra] == local[table], table
            assert set(shared) - set(local[table]) == extra


def test_an_older_shared_store_is_migrated_once(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in pg_schema.MIGRATIONS[0]:  # a store a sotlog of schema version 1 made
            conn.execute(sql)
        conn.execute(pg_schema._HISTORY)
        conn.execute("INSERT INTO sotlog_migrations (version, software_version) "
                     "VALUES (1, '0.1.0')")
        assert pg_schema.version(conn) == 1
        pg_schema.prepare(conn, pg_url)
        pg_schema.prepare(conn, pg_url)  # up to date: nothing runs twice
        rows = conn.execute("SELECT version FROM sotlog_migrations ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, pg_schema.SCHEMA_VERSION + 1))
        assert "end_reason" in pg_schema.columns(conn, "sessions")


def without_psycopg(*argv: str) -> subprocess.CompletedProcess[str]:
    """`sotlog` where psycopg cannot be imported, as on an install without the extra."""
    code = ("import sys; sys.modules['psycopg'] = None; from dashboard.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=120)


def test_without_psycopg_a_station_records_and_sync_names_the_extra(tmp_path: Path) -> None:
    store = tmp_path / "station.sqlite3"
    done = without_psycopg("record", "--port", "sim://loadcells?blocks=2&rate=80&seed=1&speed=10",
                           "--profile", "sim-loadcells", "--duration", "1", "--store", str(store))
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT status FROM sessions").fetchall() == [("complete",)]
    sync = without_psycopg("sync", "--to", "postgresql://u:secret@db.clinic/sotlog",
                           "--store", str(store))
    assert sync.returncode == 2
    assert sync.stderr.strip().splitlines() == [
        "sotlog: error: a PostgreSQL store needs psycopg 3: pip install 'sotlog[postgres]'"]


def test_a_station_column_the_shared_store_lacks_stops_the_sync(
        station_stores: list[Path], pg_url: str, tmp_path: Path) -> None:
    """A newer sotlog's SQLite column is never dropped on the way: nothing is copied."""
    import shutil

    from tests.sensing.sync.conftest import sotlog
    from tests.sensing.sync.shared import uuids

    store = Path(shutil.copy(station_stores[0], tmp_path / "newer.sqlite3"))
    with sqlite3.connect(store) as conn:
        conn.execute("ALTER TABLE chunks ADD COLUMN checksum TEXT")
    done = sotlog("sync", "--to", pg_url, "--store", str(store), "--station", "room1")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "chunks.checksum" in done.stderr
    assert uuids(pg_url) == []
