"""The relay's Sender for Telegram: Bot API errors become delivery outcomes."""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from adapters.telegram.translate import PLATFORM, send_reply
from bot import delivery
from bot.delivery import Target
from bot.replies import Reply

_GONE = ("chat not found", "user not found", "user is deactivated", "peer_id_invalid")


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    platform = PLATFORM

    def __init__(self, bot: Bot, bot_username: str) -> None:
        self._bot = bot
        self._username = bot_username

    async def send(self, target: Target, reply: Reply) -> None:
        try:
            await send_reply(self._bot, target.target_id, reply, self._username)
        except RetryAfter as exc:
            raise delivery.RetryAfter(retry_seconds(exc)) from exc
        except Forbidden as exc:  # blocked by the user, kicked from the group
            raise delivery.Unreachable(exc.message) from exc
        except ChatMigrated as exc:
            raise delivery.PermanentError(f"group moved to {exc.new_chat_id}: update the configuration") from exc
        except BadRequest as exc:
            if any(reason in exc.message.lower() for reason in _GONE):
                raise delivery.Unreachable(exc.message) from exc
            raise delivery.PermanentError(exc.message) from exc
        except NetworkError as exc:  # includes TimedOut
            raise delivery.TransientError(exc.message) from exc
        except TelegramError as exc:
            raise delivery.TransientError(exc.message) from exc
