"""The relay's Sender for Discord: channel posts and direct messages."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord

from adapters.discord.render import PLATFORM, message_kwargs
from bot import delivery
from bot.delivery import Target, TargetKind
from bot.replies import Reply


class DiscordSender:
    platform = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def _channel(self, target: Target) -> Any:
        ident = int(target.target_id)
        if target.kind is TargetKind.USER:
            user = self._client.get_user(ident) or await self._client.fetch_user(ident)
            return user.dm_channel or await user.create_dm()  # a new DM costs one more request
        return self._client.get_channel(ident) or await self._client.fetch_channel(ident)

    async def send(self, target: Target, reply: Reply) -> None:
        if not target.target_id.isdigit():
            raise delivery.PermanentError(f"not a Discord id: {target.target_id!r}")
        try:
            channel = await self._channel(target)
            await channel.send(**message_kwargs(reply))
        except discord.Forbidden as exc:  # DMs closed, or the bot may not post in that channel
            raise delivery.Unreachable(exc.text or "forbidden") from exc
        except discord.NotFound as exc:
            raise delivery.Unreachable(exc.text or "not found") from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                retry = getattr(exc, "retry_after", None) or 5.0
                raise delivery.RetryAfter(float(retry)) from exc
            if exc.status >= 500:
                raise delivery.TransientError(f"{exc.status} {exc.text}") from exc
            raise delivery.PermanentError(f"{exc.status} {exc.text}") from exc
        except (TimeoutError, aiohttp.ClientError, discord.GatewayNotFound) as exc:
            raise delivery.TransientError(str(exc) or type(exc).__name__) from exc
