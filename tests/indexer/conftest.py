"""A real PostgreSQL server for the indexer tests, started by the test run itself (Debian's `postgresql`
package; `.ci/run` installs it where it is missing). Never skipped: without the server binaries the
tests fail and say how to install them."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from _postgres import PostgresMissing, running_postgres

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway server; yields the URL prefix of its superuser `postgres` (append /DBNAME)."""
    try:
        with running_postgres() as url:
            yield url
    except PostgresMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"index_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
