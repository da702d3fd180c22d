"""Alembic environment, configured by ``storage.migrate`` (no alembic.ini, no logging setup).

The database comes from ``config.attributes["connection"]`` (an open SQLAlchemy connection)
if given, else from the ``sqlalchemy.url`` option. This file runs only when Alembic runs a
command; it creates an engine only then, and disposes of it afterwards.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection
from sqlalchemy.pool import NullPool

from storage.db import make_engine
from storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones, so migrations import nothing of ours."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSON):  # storage.models.JSONType: JSON, JSONB on PostgreSQL
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


#: Tables in the database that are not ours to migrate (APScheduler creates its job store).
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _options(dialect_name: str) -> dict[str, Any]:
    sqlite = dialect_name == "sqlite"
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_as_batch": sqlite,
        "render_item": render_item,
        "include_name": include_name,
        # storage.db makes SQLite emit BEGIN itself, so DDL can run in one transaction.
        "transactional_ddl": True if sqlite else None,
    }


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url: build the config with storage.migrate")
    dialect_name = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(url=url, literal_binds=True, **_options(dialect_name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # Batch operations copy and drop SQLite tables; with foreign keys on, dropping a parent
    # table would cascade. The pragma only works outside a transaction, so it is switched
    # off on the driver connection and checked again before commit.
    toggle_fks = sqlite and not connection.in_transaction()
    if toggle_fks:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        context.configure(connection=connection, **_options(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"migration broke foreign keys: {problems}")
    finally:
        if toggle_fks:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url and no connection: use storage.migrate")
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
