"""Storage fixtures: a migrated database (see ``databases``) and units of work on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.uow import SqlUnitOfWork

from .databases import empty_db_url, pg_database

__all__ = ["UowFactory", "empty_db_url", "pg_database"]

UowFactory = Callable[[], SqlUnitOfWork]


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """The URL of a fresh database migrated to head."""
    migrate.upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow_factory(session_factory: sessionmaker[Session]) -> UowFactory:
    return lambda: SqlUnitOfWork(session_factory)
