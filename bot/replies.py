"""Platform-neutral replies the core returns to the adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Telegram limits callback_data to 64 bytes; every action string must fit.
MAX_ACTION_BYTES = 64


@dataclass(frozen=True)
class Button:
    label: str
    action: str

    def __post_init__(self) -> None:
        if len(self.action.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"button action longer than {MAX_ACTION_BYTES} bytes: {self.action!r}")


@dataclass(frozen=True)
class Text:
    """A message, optionally with rows of buttons under it."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())

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
