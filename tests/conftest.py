"""Shared test settings: the demo network from config/default.toml, a controllable clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

import config.settings
from bot.network import Network
from config import load_settings
from tests.integration.databases import empty_db_url, pg_database  # noqa: F401  (for every suite)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests read config/default.toml only: no local file, no TWINBOT_* settings."""
    for key in list(os.environ):
        if key.startswith("TWINBOT_") and key != "TWINBOT_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setattr(config.settings, "LOCAL_FILE", tmp_path_factory.getbasetemp() / "no-local.toml")
    # Tests push events far faster than people do; the flood limit has tests of its own.
    monkeypatch.setenv("TWINBOT_NETWORK__FLOOD_LIMIT", "0")


@pytest.fixture
def network() -> Network:
    return load_settings().network_model()


@pytest.fixture
def clock() -> Clock:
    return Clock()
