"""A psycopg connection the store's code uses as it uses a sqlite3 one: one copy of each query.

What differs between the two SQL dialects, for the statements the store runs on it, is here and
nowhere else: ``?`` and ``:name`` placeholders (translated once per statement and cached),
``BEGIN`` (a snapshot, as SQLite's read transaction is; ``BEGIN IMMEDIATE`` a plain one: the one
write, a mat session's derived data), SQLite's ``LIMIT -1`` (no limit), functions SQLite
gets from Python (PostgreSQL has them in its schema), rows read by index and by name (as
``sqlite3.Row``), ``sum()`` of integers (PostgreSQL's ``numeric``) as ``int``, ``with conn:``
(as sqlite3's: a transaction ended, the connection kept). Every psycopg error is a one-line
StoreError with no password in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sensing.store.pg.schema import connect as pg_connect
from sensing.store.pg.schema import errors_as_store_errors, psycopg_module

_BEGIN = {"BEGIN": "BEGIN ISOLATION LEVEL REPEATABLE READ", "BEGIN IMMEDIATE": "BEGIN"}
_NO_LIMIT = re.compile(r"\bLIMIT -1\b")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# Tables whose rows have an id, which an INSERT gives back (sqlite3's ``lastrowid``).
_INSERT_ID = re.compile(r"^INSERT INTO (sessions|session_edits|events|calibrations) \(")


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """A statement written for sqlite3 as psycopg runs it."""
    if sql in _BEGIN:
        return _BEGIN[sql]
    return _NO_LIMIT.sub("LIMIT ALL", sql.replace("%", "%%")).replace("?", "%s")


@lru_cache(maxsize=64)
def translate_named(sql: str) -> str:
    """A statement with sqlite3's ``:name`` values as psycopg runs it (``%(name)s``); an
    INSERT of a row with an id gives it back."""
    named = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    return named + " RETURNING id" if _INSERT_ID.match(sql) else named


class Row:
    """A row read by position or by column name, as ``sqlite3.Row`` is."""

    __slots__ = ("_values", "_names")

    def __init__(self, values: Sequence[Any], names: dict[str, int]) -> None:
        self._values = values
        self._names = names

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names: dict[str, int] = {}
    for i, column in enumerate(cursor.description or ()):
        names.setdefault(column.name, i)  # the first of two same-named columns, as sqlite3's

    def make(values: Sequence[Any]) -> Row:
        return Row(values, names)
    return make


class Cursor:
    """What ``Connection.execute`` returns: its rows, fetched with errors as StoreErrors, and
    the id of a row it inserted (``lastrowid``, as sqlite3's)."""

    def __init__(self, cursor: Any, shown: str, returning: bool = False) -> None:
        self._cursor = cursor
        self._shown = shown
        self.lastrowid: int | None = None
        if returning:
            found = self.fetchone()
            self.lastrowid = None if found is None else int(found[0])

    def fetchall(self) -> list[Row]:
        if self._cursor.description is None:
            return []
        with errors_as_store_errors(self._shown, "cannot read the shared store at"):
            return list(self._cursor.fetchall())

    def fetchone(self) -> Row | None:
        if self._cursor.description is None:
            return None
        with errors_as_store_errors(self._shown, "cannot read the shared store at"):
            found: Row | None = self._cursor.fetchone()
            return found

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class Connection:
    """A psycopg connection, in autocommit, that runs statements written for sqlite3;
    ``release`` takes it back when closed (a pool's, sensing.store.pg.pool), else it is closed."""

    def __init__(self, conn: Any, url: str, release: Callable[[Any], None] | None = None) -> None:
        self._conn = conn
        self._url = url
        self._release = release
        self._closed = False

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        cursor = self._conn.cursor(row_factory=_row_factory)
        # Named values (``:name``, sensing.store.schema.insert) come as a mapping.
        statement = translate_named(sql) if isinstance(args, Mapping) else translate(sql)
        with errors_as_store_errors(self._url, "cannot use the shared store at"):
            cursor.execute(statement, args)
        return Cursor(cursor, self._url, statement.endswith(" RETURNING id"))

    def create_function(self, *_: Any, **__: Any) -> None:
        """PostgreSQL has the functions SQLite gets from Python in its schema (pg.schema)."""

    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.info.transaction_status != self._status.IDLE)

    @property
    def _status(self) -> Any:
        return psycopg_module().pq.TransactionStatus

    def close(self) -> None:
        """Close it, or give it back to its pool: once (a second close does nothing)."""
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            self._release(self._conn)
        else:
            self._conn.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """As sqlite3's: a transaction left open is committed (rolled back after an error);
        the connection stays open."""
        if self.in_transaction:
            self.execute("ROLLBACK" if kind else "COMMIT")


def _numeric_loader() -> Any:
    """PostgreSQL's ``numeric`` (what ``sum()`` of integers gives) as int, or float if it has a
    fraction, as SQLite gives them."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return int(text) if text.lstrip("-").isdigit() else float(text)
    return NumericLoader


def connect(url: str, *, readonly: bool = True) -> Connection:
    """A connection to the shared store at ``url`` for the store's code; ``readonly`` (every
    connection that reads): the server refuses a write on it."""
    return Connection(setup(pg_connect(url, autocommit=True), url, readonly), url)


def setup(conn: Any, url: str, readonly: bool) -> Any:
    """Make a new psycopg connection (autocommit) one the store's code reads through."""
    conn.adapters.register_loader("numeric", _numeric_loader())
    if readonly:
        with errors_as_store_errors(url, "cannot read the shared store at"):
            conn.execute("SET default_transaction_read_only = on")
    return conn
