"""A page of the shared store's sessions, with the station each came from: the filters, order
and paging of a station's list (sensing.store.listing), run by PostgreSQL."""

from __future__ import annotations

from typing import Any

from sensing.store.listing import COLUMNS, COUNTS, NEWEST_FIRST, Filters, Listed, Page, listed
from sensing.store.pg.schema import connect, errors_as_store_errors, prepare


def _pg(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's."""
    return sql.replace("?", "%s")


def page(url: str, filters: Filters | None = None, station: str | None = None,
         limit: int | None = 50, offset: int = 0) -> tuple[Page, list[str]]:
    """One page of the sessions matching ``filters`` (and ``station``), newest first, with how
    many match in all, read in one snapshot; and each listed session's station."""
    from psycopg.rows import dict_row

    filters = filters or Filters()
    where, args = list(filters.where), list(filters.args)
    if station is not None:
        where.append("station = ?")
        args.append(station)
    sql_where = _pg(" WHERE " + " AND ".join(where) if where else "")
    conn = connect(url, autocommit=True)
    try:
        prepare(conn, url)
        with (errors_as_store_errors(url, "cannot list the sessions of"),
              conn.transaction(), conn.cursor(row_factory=dict_row) as cur):
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute(f"SELECT {COLUMNS}, station FROM sessions{sql_where}{NEWEST_FIRST} "
                        "LIMIT %s OFFSET %s", [*args, limit, offset])
            rows = cur.fetchall()
            found: list[Listed] = [_listed(cur, r) for r in rows]
            cur.execute(f"SELECT count(*) AS n FROM sessions{sql_where}", args)
            matching = int(cur.fetchone()["n"])
    finally:
        conn.close()
    return Page(found, matching, offset), [r["station"] for r in rows]


def _listed(cur: Any, row: Any) -> Listed:  # a dict_row: read as listed() reads a Row
    if row["frame_count"] is not None:
        return listed(row, row["frame_count"], row["duration_s"])
    with cur.connection.cursor() as counting:  # a row no sync counted (sync always does)
        counting.execute(_pg(COUNTS), (row["id"],))
        n, last = counting.fetchone()
    return listed(row, n, last)
