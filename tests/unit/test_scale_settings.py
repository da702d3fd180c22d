"""Settings for running at scale: the connection pool, Discord sharding, health, log format."""

from __future__ import annotations

import discord
import pytest

from adapters.bootstrap import pool_options
from adapters.discord import ShardedTwinBot, TwinBot, make_twinbot
from bot.core import Core
from bot.telemetry import NO_TELEMETRY
from config import ConfigError, load_settings


def test_pool_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINBOT_DATABASE_URL", "postgresql+psycopg://twinbot@db.example.org/twinbot")
    monkeypatch.setenv("TWINBOT_DATABASE_POOL__SIZE", "12")
    monkeypatch.setenv("TWINBOT_DATABASE_POOL__MAX_OVERFLOW", "3")
    monkeypatch.setenv("TWINBOT_DATABASE_POOL__TIMEOUT", "7.5")
    settings = load_settings()
    assert pool_options(settings) == {
        "pool_size": 12,
        "max_overflow": 3,
        "pool_timeout": 7.5,
        "pool_recycle": 1800,
        "pool_pre_ping": True,
    }


def test_sqlite_keeps_its_own_pool() -> None:
    assert pool_options(load_settings(database_url="sqlite:///x.db")) == {}


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"database_pool": {"size": 0}}, "database_pool.size"),
        ({"discord_shard_ids": [0, 1]}, "discord_shard_ids needs discord_shard_count"),
        ({"discord_shard_ids": [0, 2], "discord_shard_count": 2}, "from 0 to 1"),
        ({"discord_shard_ids": [1, 1], "discord_shard_count": 2}, "distinct"),
        ({"health_listen": "9100"}, "health_listen"),
        ({"log_format": "xml"}, "log_format"),
        ({"health_listen": "127.0.0.1:99999"}, "between 1 and 65535"),
        ({"telegram_webhook_secret": "short"}, "16 to 256 characters"),
        ({"telegram_webhook_secret": "has spaces in it, which Telegram refuses"}, "16 to 256 characters"),
    ],
)
def test_malformed_scale_settings_are_named(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(**overrides)


def _core() -> Core:
    from adapters.bootstrap import bootstrap

    return bootstrap(load_settings(database_url="sqlite://"), telemetry=NO_TELEMETRY).core


async def test_discord_sharding_makes_an_auto_sharded_bot_with_this_processes_shards() -> None:
    core = _core()
    plain = make_twinbot(core, load_settings(database_url="sqlite://"))
    assert type(plain) is TwinBot and not isinstance(plain, discord.AutoShardedClient)
    auto = make_twinbot(core, load_settings(database_url="sqlite://", discord_sharded=True))
    assert isinstance(auto, ShardedTwinBot) and isinstance(auto, discord.AutoShardedClient)
    assert auto.shard_count is None  # Discord recommends the count at login
    split = make_twinbot(core, load_settings(database_url="sqlite://", discord_shard_count=4, discord_shard_ids=[2, 3]))
    assert isinstance(split, discord.AutoShardedClient)
    assert split.shard_count == 4 and split.shard_ids == [2, 3]
    assert split.twinbot.core is core  # the same adapter, on every shard
    await plain.close()  # (an AutoShardedClient can only be closed once it has logged in)
