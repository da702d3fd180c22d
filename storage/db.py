"""Engines and session factories; nothing connects until asked to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage import writer_lock

BUSY_TIMEOUT_S = 5.0

SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000:.0f}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def make_engine(url: str | URL, *, sqlite_immediate: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url``; extra keyword arguments go to ``create_engine``.

    SQLite files get their parent directory created and the pragmas above on every
    connection. Each transaction starts with an explicit BEGIN, by default BEGIN IMMEDIATE:
    it takes the write lock up front, so concurrent units of work wait for each other (up to
    busy_timeout) instead of failing with "database is locked" when one that has read
    tries to write after another has committed. Other databases get ``pool_pre_ping``.
    """
    parsed = make_url(url)
    # Errors and logs never carry the values of a statement (members' answers, names, texts).
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    _create_parent_dir(parsed)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    # BEGIN is ours to emit (see _sqlite_connect); threads of this process take turns.
    writer_lock.install(engine, "BEGIN IMMEDIATE" if sqlite_immediate else "BEGIN", timeout=BUSY_TIMEOUT_S)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine)


def _create_parent_dir(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module, which would skip it before SELECT, DDL and
    # SAVEPOINT; the engine's "begin" listener emits it instead. With no transaction open
    # yet, the pragmas (journal_mode in particular) take effect at once.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
