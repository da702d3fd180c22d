from __future__ import annotations

from collections.abc import Iterator

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
