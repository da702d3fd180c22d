"""Platform-neutral replies the core returns to the adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Telegram limits callback_data to 64 bytes; every action string must fit.
MAX_ACTION_BYTES = 64


#: A button whose action starts with this opens the bot's private chat and sends
#: ``/start PAYLOAD`` there (a Telegram deep link; the console sends it itself).
OPEN_PRIVATE = "open:"


@dataclass(frozen=True)
class Button:
    label: str
    action: str

    @property
    def private_start(self) -> str | None:
        """The /start payload if this button opens the private chat, else None."""
        return self.action[len(OPEN_PRIVATE) :] if self.action.startswith(OPEN_PRIVATE) else None

    def __post_init__(self) -> None:
        if len(self.action.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"button action longer than {MAX_ACTION_BYTES} bytes: {self.action!r}")


@dataclass(frozen=True)
class Text:
    """A message, optionally with rows of buttons under it."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
    #: True when this message replaces the one whose button was pressed (a toggle, a
    #: changed choice): platforms that can edit a message do so instead of sending anew.
    replace: bool = False
    #: True when the core waits for a free-text answer to this message (a dialog step that
    #: takes text): platforms without a chat box in context (Discord buttons) offer a form.
    expects_text: bool = False

    @property
    def all_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(frozen=True)
class File:
    filename: str
    data: bytes
    mime_type: str
    caption: str = ""


@dataclass(frozen=True)
class Image:
    filename: str
    data: bytes
    caption: str = ""


Reply = Text | File | Image


def rows(*buttons: Button, per_row: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out in rows of ``per_row``."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
