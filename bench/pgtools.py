"""PostgreSQL for the benchmarks: find a server, and give a run a database of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: Where a server may be named; else DEFAULT_POSTGRES is tried.
PG_ENVS = ("TWINBOT_BENCH_POSTGRES_URL", "TWINBOT_TEST_DATABASE_URL")


def postgres_server(option: str | None) -> tuple[str | None, str | None]:
    """The server to use and, when there is none, why."""
    named = option or next((os.environ[e] for e in PG_ENVS if os.environ.get(e)), None)
    server = named or DEFAULT_POSTGRES
    engine = create_engine(server, poolclass=NullPool, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        if named:
            raise
        return None, f"no PostgreSQL at {make_url(server).render_as_string()}: {str(exc.orig).strip().splitlines()[0]}"
    finally:
        engine.dispose()
    return server, None


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A database of this run's own on ``server``, dropped at the end."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"twinbot_bench_{os.getpid()}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
