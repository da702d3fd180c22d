"""The Telegram adapter (python-telegram-bot 22): updates in, replies and relayed messages out."""

from adapters.telegram.bot import TelegramAdapter
from adapters.telegram.sender import TelegramSender

__all__ = ["TelegramAdapter", "TelegramSender"]
