"""The Discord adapter (discord.py 2). This package is ``adapters.discord``; inside it the
library is always the top-level ``discord``, never shadowed."""

from __future__ import annotations

from adapters.discord.client import DiscordAdapter, ShardedTwinBot, TwinBot, make_twinbot
from adapters.discord.sender import DiscordSender
from config import Settings, load_settings

__all__ = ["DiscordAdapter", "DiscordSender", "ShardedTwinBot", "TwinBot", "create_discord_bot", "make_twinbot"]


def create_discord_bot(settings: Settings | None = None) -> TwinBot:
    """A ``discord.ext.commands.Bot`` with the core wired to the database named in
    ``settings`` (loaded from config and environment when None), not started. The schema is
    migrated; the database engine is disposed of when the bot closes."""
    from adapters.bootstrap import bootstrap

    settings = settings or load_settings()
    app = bootstrap(settings)
    bot = make_twinbot(app.core, settings)
    close = bot.close

    async def close_and_dispose() -> None:
        await close()
        app.close()

    bot.close = close_and_dispose  # type: ignore[method-assign]
    return bot
