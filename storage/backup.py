"""Backup and restore of a SQLite database with SQLite's online backup API: a consistent copy
even while the bot writes. PostgreSQL has its own tools (pg_dump / pg_restore, see the README)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def sqlite_file(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError("backup and restore here are for SQLite files; for PostgreSQL use pg_dump and pg_restore")
    return Path(parsed.database)


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def backup(url: str, target: Path) -> None:
    source = sqlite_file(url)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name")
    _copy(source, target)


def restore(url: str, source: Path) -> None:
    """Replace the database with a backup (stop the bot first)."""
    target = sqlite_file(url)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as check:
            tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        check.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite database: {exc}") from None
    if "alembic_version" not in tables or "members" not in tables:
        raise BackupError(f"{source} is not a twinbot backup (no members or alembic_version table)")
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy(source, target)
