from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bootstrap import App, bootstrap
from config import load_settings
from tests.conftest import Clock


@pytest.fixture
def app(empty_db_url: str, clock: Clock) -> Iterator[App]:
    """The whole bot on a fresh database (SQLite, and PostgreSQL when configured)."""
    application = bootstrap(load_settings(database_url=empty_db_url), clock=clock)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``twinbot`` subprocess: a fresh SQLite file, no local settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TWINBOT_")}
    clean["TWINBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'bot.db'}"
    clean["TWINBOT_CONFIG"] = str(tmp_path / "local.toml")
    (tmp_path / "local.toml").write_text("# no local settings\n", encoding="utf-8")
    return clean
