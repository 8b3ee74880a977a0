"""The ``backend`` fixture: each store test that reads, lists, edits, undoes, exports or reparses
runs on a station's SQLite store and on the shared PostgreSQL store (tests/conftest.py's server,
one database per test, copied from a template whose schema is made once per run)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sensing.store.sessions import Store
from tests.conftest import admin_url
from tests.sensing.store.backend import Backend
from tests.sensing.sync.pgserver import Server, new_database


@pytest.fixture(scope="session")
def pg_template(pg_server: Server | None) -> str:
    """The name of a database holding the shared store's schema and nothing else."""
    url = new_database(admin_url(pg_server))
    Store.open(url)  # makes the schema
    return url.partition("?")[0].rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Where the test's sessions are read and edited (see tests/sensing/store/backend.py)."""
    if request.param == "sqlite":
        return Backend("sqlite")
    admin = admin_url(request.getfixturevalue("pg_server"))
    template = request.getfixturevalue("pg_template")
    database: Callable[[], str] = lambda: new_database(admin, template)  # noqa: E731
    return Backend("postgresql", database)
