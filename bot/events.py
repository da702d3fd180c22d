"""Platform-neutral events that adapters hand to the core."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChatRef:
    """Where a conversation happens: a platform and a chat id on it."""

    platform: str
    chat_id: str
    private: bool = True


@dataclass(frozen=True)
class Event:
    """Base of every incoming event: who wrote, where, with what locale hint."""

    chat: ChatRef
    user_id: str
    display_name: str
    locale: str | None = None


@dataclass(frozen=True)
class CommandReceived(Event):
    """A slash command such as ``/start`` with the text after it."""

    command: str = ""
    args: str = ""


@dataclass(frozen=True)
class TextReceived(Event):
    """Free text written by the user."""

    text: str = ""


@dataclass(frozen=True)
class ButtonPressed(Event):
    """A button press carrying the short action string the core put on it."""

    action: str = ""


AnyEvent = CommandReceived | TextReceived | ButtonPressed
