"""Connections to the shared store kept open between requests, for a face that serves many
(``sotlog serve --store postgresql://…``): psycopg_pool's pools, one of read-only connections and
one of connections that may write (opened on the first edit), so a request does not pay for a
new server process, a login and a TLS handshake each time.

A connection is checked when it is handed out (a server restarted meanwhile costs no request),
and one that cannot be had within ``TIMEOUT_S`` is a one-line StoreError with no password in it.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from firmware_bridge.errors import StoreError
from sensing.store.pg.adapter import Connection, setup
from sensing.store.url import EXTRA, redact

MAX_SIZE = 8  # connections of each kind one serve keeps at most (a request holds one at a time)
TIMEOUT_S = 10.0  # as a connection of its own waits for the server (pg.schema.connect)


class SharedPool:
    """The pools of one shared store's URL."""

    def __init__(self, url: str, max_size: int = MAX_SIZE) -> None:
        try:
            import psycopg_pool
        except ImportError:
            raise StoreError(f"a pool of PostgreSQL connections needs psycopg_pool: {EXTRA}") \
                from None
        self._module = psycopg_pool
        self.url = url
        self.max_size = max_size
        self._pools: dict[bool, Any] = {}
        self._lock = threading.Lock()

    def _pool(self, readonly: bool) -> Any:
        with self._lock:
            if readonly not in self._pools:
                pool = self._module.ConnectionPool
                self._pools[readonly] = pool(
                    self.url, min_size=1, max_size=self.max_size, timeout=TIMEOUT_S,
                    kwargs={"autocommit": True, "connect_timeout": int(TIMEOUT_S)},
                    configure=partial(setup, url=self.url, readonly=readonly),
                    check=pool.check_connection, name="sotlog-read" if readonly else "sotlog",
                    open=True)
            return self._pools[readonly]

    def connect(self, *, readonly: bool = True) -> Connection:
        """A connection from the pool, given back when it is closed."""
        pool = self._pool(readonly)
        try:
            conn = pool.getconn()
        except self._module.PoolTimeout as err:
            raise StoreError(f"cannot connect to {redact(self.url)}: no connection within "
                             f"{TIMEOUT_S:.0f} s (the server is away, or {self.max_size} "
                             "requests hold one each)") from err
        return Connection(conn, self.url, release=pool.putconn)

    def close(self) -> None:
        """Close every connection of both pools."""
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
