"""A real PostgreSQL server for every test that needs one (tests/sensing/sync/pgserver.py): one
per test run, started on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.sensing.sync.pgserver import ENV, Server, new_database


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server | None]:
    """Our own server (None where $SOTLOG_TEST_POSTGRES names one)."""
    if os.environ.get(ENV):
        yield None
        return
    server = Server()
    try:
        yield server
    finally:
        server.close()


def admin_url(server: Server | None) -> str:
    """A URL whose user may create databases on the test server."""
    return os.environ.get(ENV) or (server.url() if server else "")


@pytest.fixture
def pg_url(pg_server: Server | None) -> str:
    """A URL to a fresh, empty database."""
    return new_database(admin_url(pg_server))
