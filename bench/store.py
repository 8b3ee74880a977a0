"""The shared PostgreSQL store at 500 and 5,000 sessions: sync throughput beside PostgreSQL's own
COPY of the same rows, list and filter times beside the bare SELECT, the web API (a page of the
list, a subject search, a session's page and its samples) beside the raw SQL under it, on
PostgreSQL and on the station's SQLite file, and size per session beside that file.

The station's store holds load-cell sessions (2 cells, 80 Hz, ``--seconds`` long, their wire
text as raw capture) written through the real Store and Recorder by bench/listing.py's builder,
into ``--store`` (default /tmp/sotlog-bench-store.sqlite3, reused while it fits). The server is
``--postgres URL`` (a user that may CREATE DATABASE), else one started from Debian's binaries in a
temporary folder (tests/sensing/sync/pgserver.py), fsync off as in the tests.

Sync: a fresh database takes the first 500 sessions (a copy of the store cut to them), then the
next 4,500 (a station catching up); then ``ANALYZE``, as autovacuum soon does. The baseline is
the rows that sync wrote, dumped with ``COPY … TO STDOUT (FORMAT BINARY)`` and loaded back by
``COPY … FROM STDIN`` into empty tables of the same shape and indexes: what PostgreSQL itself
takes to ingest them. List times are best of ``--repeat``; each sync runs once. The web API
runs in-process (the app's routes through Starlette's TestClient, no socket); a subject search
works out the visits a session lacks on its first request and keeps them (docs/multi-station.md),
so its best time is a search of kept visits, on both backends. `serve` keeps a pool of
connections to the shared store (sensing/store/pg/pool.py); one more row times the page of 50 with
a connection opened per request instead, beside the pooled page in the same run.

    python bench/store.py [--sessions 500,5000] [--seconds 60] [--store PATH] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import listing  # bench/listing.py, beside this file: the store builder
import psycopg
from tables import aligned  # bench/tables.py

from sensing.store.listing import COLUMNS, NEWEST_FIRST, Filters
from sensing.store.pg.sync import Sync
from sensing.store.storefile import StoreFile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.sensing.sync.pgserver import Server, new_database  # noqa: E402

TABLES = ("sessions", "session_edits", "events", "chunks", "raw", "calibrations")


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1000:.3f} ms"


def copy_baseline(url: str, after_id: int) -> float:
    """Seconds PostgreSQL takes to COPY in the rows of sessions ``id > after_id`` (every
    table), read back from a binary dump of them, into empty tables with the same indexes."""
    with psycopg.connect(url, autocommit=True) as conn, tempfile.TemporaryDirectory() as tmp:
        dumps = {}
        for table in ("sessions", "events", "chunks", "raw"):
            key = "id" if table == "sessions" else "session_id"
            path = Path(tmp) / table
            with path.open("wb") as f, conn.cursor().copy(
                    f"COPY (SELECT * FROM {table} WHERE {key} > {after_id}) TO STDOUT "
                    "(FORMAT BINARY)") as copy:
                for block in copy:
                    f.write(block)
            dumps[table] = path
            conn.execute(f"DROP TABLE IF EXISTS bench_{table}")
            conn.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
        started = time.perf_counter()
        with conn.transaction():
            for table, path in dumps.items():
                with path.open("rb") as f, conn.cursor().copy(
                        f"COPY bench_{table} FROM STDIN (FORMAT BINARY)") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
        took = time.perf_counter() - started
        for table in dumps:
            conn.execute(f"DROP TABLE bench_{table}")
    return took


def first_sessions(store: Path, n: int, tmp: Path) -> Path:
    """``store`` if it holds ``n`` sessions, else a copy of it with only its first ``n``."""
    with sqlite3.connect(store) as conn:
        total = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    if total == n:
        return store
    if total < n:
        raise SystemExit(f"{store} holds {total} sessions, fewer than {n}")
    part = tmp / f"first-{n}.sqlite3"
    shutil.copyfile(store, part)
    conn = sqlite3.connect(part)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("DELETE FROM sessions WHERE id NOT IN (SELECT id FROM sessions ORDER BY id "
                 "LIMIT ?)", (n,))
    conn.commit()
    conn.execute("VACUUM")  # its size per session as if only these were recorded
    conn.close()
    return part


def shared_size(url: str) -> int:
    with psycopg.connect(url) as conn:
        return sum(conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]
                   for t in TABLES)


def list_rows(url: str, store: Path, n: int, repeat: int) -> list[list[str]]:
    """The list and filter times on PostgreSQL and SQLite, each beside its bare SELECT."""
    bare_sql = f"SELECT {COLUMNS}, station FROM sessions{NEWEST_FIRST} LIMIT 50"
    subject = "P-0123"
    local = StoreFile.open(store, write=False)
    with psycopg.connect(url) as conn:
        bare_pg = best(lambda: conn.execute(bare_sql).fetchall(), repeat)
    sql = f"SELECT {COLUMNS} FROM sessions{NEWEST_FIRST} LIMIT 50"
    bare_sqlite = best(lambda: sqlite3.connect(store).execute(sql).fetchall(), repeat)
    shared = StoreFile.open(url)
    cases: list[tuple[str, Filters, Filters, int]] = [
        ("first page, limit 50", Filters(), Filters(), 0),
        (f"subject {subject}", Filters(subject=subject), Filters(subject=subject), 0),
        ("station, first page", Filters(station="bench"), Filters(), 0),
        ("a month (since/until)", *[Filters(since="2025-06-01", until="2025-07-01")] * 2, 0),
        ("last page", Filters(), Filters(), n - 50),
    ]
    rows = []
    for what, filters, local_filters, offset in cases:
        pg = best(lambda f=filters, o=offset: shared.page(f, 50, o), repeat)
        lite = best(lambda f=local_filters, o=offset: local.page(f, 50, o), repeat)
        rows.append([f"{n}", what, ms(pg), f"{pg / bare_pg:.0f}x", ms(lite),
                     f"{lite / bare_sqlite:.0f}x"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = best(lambda: subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "sessions", "--store", url, "--limit", "50"],
        check=True, capture_output=True, env=env), max(2, repeat // 2))
    empty = best(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 3)
    rows.append([f"{n}", "`sotlog sessions --store postgresql://…`", ms(cli),
                 f"{cli / empty:.1f}x python -c pass", "", ""])
    rows.append(["", "(bare SELECT … LIMIT 50)", ms(bare_pg), "1x", ms(bare_sqlite), "1x"])
    connect = best(lambda: psycopg.connect(url).close(), repeat)
    rows.append(["", "(connecting alone)", ms(connect), f"{connect / bare_pg:.0f}x", "", ""])
    return rows


# What the session page asks for when it opens (dashboard/web/static/session.js).
PAGE_CALLS = ("", "/summary?units=N", "/figures", "/events")


def web_rows(url: str, store: Path, n: int, repeat: int) -> list[list[str]]:
    """The web API in-process (the app's routes, no socket) on PostgreSQL and SQLite, each beside
    the raw SQL it rests on, run on an open connection: a page of 50, a subject search, and a
    session's page (its header, summary, figures and events) and samples."""
    from fastapi.testclient import TestClient

    from dashboard.web.app import create_app
    from dashboard.web.settings import Settings
    from sensing.store.read import INFO_SELECT

    subject = "P-0123"
    clients = {where: TestClient(create_app(Settings(store=where, allow_hosts=["testserver"])))
               for where in (url, str(store))}

    def get(client: TestClient, path: str, **params: object) -> None:
        got = client.get(path, params=params)
        assert got.status_code == 200, got.text

    pg_conn, lite_conn = psycopg.connect(url, autocommit=True), sqlite3.connect(store)
    uuid = lite_conn.execute("SELECT uuid FROM sessions ORDER BY id LIMIT 1 OFFSET ?",
                             (n // 2,)).fetchone()[0]
    ids = {url: pg_conn.execute("SELECT id FROM sessions WHERE uuid = %s", (uuid,)).fetchone()[0],
           str(store): lite_conn.execute("SELECT id FROM sessions WHERE uuid = ?",
                                         (uuid,)).fetchone()[0]}
    page_sql = f"SELECT {COLUMNS} FROM sessions{{}}{NEWEST_FIRST} LIMIT 50"

    def floor_pg(sql: str, *args: object) -> Callable[[], object]:
        sql = sql.replace("?", "%s").replace("PART(", "strpos(")
        return lambda: pg_conn.execute(sql, args).fetchall()

    def floor_lite(sql: str, *args: object) -> Callable[[], object]:
        sql = sql.replace("PART(", "instr(")
        return lambda: lite_conn.execute(sql, args).fetchall()

    part = " WHERE PART(lower(subject_code), ?) > 0"  # contains_folded: strpos, SQLite's instr
    count = "SELECT count(*) FROM sessions"
    cases = [
        ("GET /api/sessions?limit=50", {"limit": 50}, None,
         [(page_sql.format(""), ()), (count, ())]),
        (f"GET /api/sessions?q={subject}&limit=50", {"q": subject, "limit": 50}, None,
         [(page_sql.format(part), (subject.lower(),)), (count + part, (subject.lower(),))]),
        ("session page (header, summary, figures, events)", {}, PAGE_CALLS,
         [(INFO_SELECT + " WHERE s.id = ?", "id"),
          ("SELECT * FROM chunks WHERE session_id = ? ORDER BY first_index", "id"),
          ("SELECT * FROM events WHERE session_id = ? ORDER BY host_time, id", "id")]),
        ("GET /api/sessions/ID/samples", {}, ("/samples",),
         [("SELECT * FROM chunks WHERE session_id = ? ORDER BY first_index", "id")]),
    ]
    rows = []
    for what, params, calls, floors in cases:
        figures = []
        for where, floor in ((url, floor_pg), (str(store), floor_lite)):
            client = clients[where]
            if calls is None:
                web = best(lambda c=client, p=params: get(c, "/api/sessions", **p), repeat)
            else:
                web = best(lambda c=client, w=where, cs=calls: [
                    get(c, f"/api/sessions/{ids[w]}{call}") for call in cs], repeat)
            steps = [floor(sql, *((ids[where],) if args == "id" else args))
                     for sql, args in floors]
            bare = best(lambda st=steps: [step() for step in st], repeat)
            figures += [ms(web), ms(bare), f"{web / bare:.0f}x"]
        rows.append([f"{n}", what, *figures])
    # The same page with a connection opened per request, as serve did before it kept a pool.
    unpooled = TestClient(create_app(Settings(store=url, allow_hosts=["testserver"])))
    unpooled.app.state.station.store.close()  # type: ignore[attr-defined]
    web = best(lambda: get(unpooled, "/api/sessions", limit=50), repeat)
    pooled = best(lambda: get(clients[url], "/api/sessions", limit=50), repeat)
    rows.append([f"{n}", "GET /api/sessions?limit=50, a connection per request (no pool)",
                 ms(web), f"pooled {ms(pooled)}", f"{web / pooled:.1f}x", "", "", ""])
    pg_conn.close()
    lite_conn.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", default="500,5000")
    ap.add_argument("--seconds", type=int, default=60, help="length of each session")
    ap.add_argument("--store", type=Path, default=Path("/tmp/sotlog-bench-store.sqlite3"))
    ap.add_argument("--postgres", default=os.environ.get("SOTLOG_BENCH_POSTGRES"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    stages = [int(s) for s in args.sessions.split(",")]
    listing.CELL_SECONDS = args.seconds
    server = None if args.postgres else Server()
    tmp = tempfile.mkdtemp(prefix="sotlog-bench-store-")
    try:
        url = new_database(args.postgres or server.url())  # type: ignore[union-attr]
        sync_rows, list_out, size_rows, web_out = [], [], [], []
        before = 0
        listing.build(args.store, max(stages), 0)
        for n in stages:
            stage = first_sessions(args.store, n, Path(tmp))
            result = Sync(StoreFile.open(stage, write=False), url, "bench").run()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE")  # as autovacuum leaves a server that has been up a while
            base = copy_baseline(url, before)
            mb = result.nbytes / 1e6
            sync_rows.append([f"{before}->{n}", f"{result.copied}",
                              f"{result.seconds:.1f} s",
                              f"{result.copied / result.seconds:.0f} sessions/s",
                              f"{mb / result.seconds:.1f} MB/s", f"{base:.1f} s",
                              f"{result.seconds / base:.1f}x"])
            list_out += list_rows(url, stage, n, args.repeat)
            web_out += web_rows(url, stage, n, args.repeat)
            pg_bytes, lite_bytes = shared_size(url), stage.stat().st_size
            size_rows.append([f"{n}", f"{pg_bytes / n / 1e3:.0f} kB",
                              f"{lite_bytes / n / 1e3:.0f} kB",
                              f"{pg_bytes / lite_bytes:.2f}x"])
            before = n
        print(f"sync, {args.seconds} s 2-cell 80 Hz sessions (blob MB: samples + raw capture)")
        print("\n".join(aligned(["sessions", "copied", "sync", "rate", "blob MB/s",
                                 "PostgreSQL COPY", "sync / COPY"], sync_rows)))
        print(f"\nlist and filter (best of {args.repeat}; a page in-process: connect, check the "
              "schema version, read, count)")
        print("\n".join(aligned(["sessions", "what", "PostgreSQL", "/ bare", "SQLite",
                                 "/ bare"], list_out)))
        print(f"\nthe web API in-process (best of {args.repeat}; raw SQL: on an open connection)")
        print("\n".join(aligned(["sessions", "what", "PostgreSQL", "raw SQL", "/ raw", "SQLite",
                                 "raw SQL", "/ raw"], web_out)))
        print("\nstore size per session")
        print("\n".join(aligned(["sessions", "PostgreSQL", "SQLite", "PG / SQLite"],
                                size_rows)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
