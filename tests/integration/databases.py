"""Database fixtures for every suite: a fresh database on SQLite and on PostgreSQL.

PostgreSQL runs only when TWINBOT_TEST_DATABASE_URL names a server (any database on it the
user may connect to, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test). The session
creates its own database ``twinbot_test_<random>`` there and drops it at the end; each test
gets its own schema in it, reached through ``search_path``. tests/conftest.py imports the
fixtures so that every suite can use them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

PG_ENV = "TWINBOT_TEST_DATABASE_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"),
    ),
]


def _autocommit_engine(url: URL) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[URL]:
    """A PostgreSQL database of this test session's own, dropped at its end."""
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(f"{PG_ENV} is not set")
    admin = _autocommit_engine(make_url(server))
    name = f"twinbot_test_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, not migrated."""
    if request.param == "sqlite":
        # A directory that does not exist yet: make_engine must create it.
        yield f"sqlite:///{tmp_path / 'data' / 'twinbot.db'}"
        return
    database: URL = request.getfixturevalue("pg_database")
    schema = f"test_{secrets.token_hex(6)}"
    admin = _autocommit_engine(database)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = database.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
