"""Delivery to people other than the sender: what is queued, and how a platform answers.

The core never sends to anyone but the current chat directly. Everything else (announcements,
intros, reminders) is queued as an ``OutboxItem`` in the same unit of work as the change that
caused it; a relay per platform sends it later through that platform's ``Sender``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.replies import Reply


class TargetKind(StrEnum):
    USER = "user"  # a direct message to a platform user
    CHAT = "chat"  # a group chat or channel


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Target:
    platform: str
    kind: TargetKind
    target_id: str


@dataclass(frozen=True)
class OutboxItem:
    """One message to one target; ``dedupe_key`` makes queuing it twice a no-op."""

    dedupe_key: str
    target: Target
    reply: Reply
    not_before: datetime
    member_id: int | None = None
    batch: str | None = None


# --- what a platform's sender raises ------------------------------------------------------


class DeliveryError(Exception):
    """Base of the outcomes a Sender reports instead of success."""


class RetryAfter(DeliveryError):
    """The platform asks us to slow down (HTTP 429) for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited; retry after {seconds:g} s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The person blocked the bot, left, or does not accept direct messages."""


class TransientError(DeliveryError):
    """A network error or a server error: worth another try later."""


class PermanentError(DeliveryError):
    """The platform refused this message for good (e.g. malformed); do not retry."""


class Sender(Protocol):
    """Implemented by each adapter: deliver one reply to one target, or raise a DeliveryError."""

    platform: str

    async def send(self, target: Target, reply: Reply) -> None: ...


@dataclass(frozen=True)
class PacePolicy:
    """A platform's sending limits, each over a sliding window."""

    global_per_second: int
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20


#: Telegram Bot API: about 30 messages per second overall, 1 per second to one chat,
#: 20 per minute to one group (core.telegram.org/bots/faq).
TELEGRAM_PACE = PacePolicy(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
#: Discord: 50 requests per second per bot globally; per-channel buckets are announced in
#: X-RateLimit-* headers (discord.py honours them); a new DM costs two requests.
DISCORD_PACE = PacePolicy(global_per_second=25, per_chat_per_second=5, per_group_per_minute=60)
#: The console prints; a generous limit keeps the same code path.
CONSOLE_PACE = PacePolicy(global_per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000)
