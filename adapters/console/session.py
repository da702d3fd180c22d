"""A console chat session: ``push`` a line as a user, get the core's replies back.

It is the local backend (``twinbot console``) and the test backend of the end-to-end tests,
in the manner of errbot's text and test backends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

from bot.core import Core
from bot.events import AnyEvent, ButtonPressed, ChatRef, CommandReceived, TextReceived
from bot.replies import File, Image, Reply, Text

PLATFORM = "console"
_BUTTON = re.compile(r"^\[(?P<label>.+)\]$")


class _Who(TypedDict):
    chat: ChatRef
    user_id: str
    display_name: str
    locale: str | None


class UnknownButton(Exception):
    """The label is not on the latest message with buttons; the message names those on offer."""


@dataclass
class _User:
    name: str
    locale: str | None
    menus: list[Text] = field(default_factory=list)  # every message to this user with buttons


class ConsoleSession:
    def __init__(self, core: Core, *, locale: str | None = None) -> None:
        self.core = core
        self.locale = locale
        self._users: dict[str, _User] = {}

    def user(self, name: str) -> _User:
        if name not in self._users:
            self._users[name] = _User(name=name, locale=self.locale)
        return self._users[name]

    def push(self, name: str, line: str) -> list[Reply]:
        """Send one line as ``name``: a /command, a [Button label], or text."""
        stripped = line.strip()
        match = _BUTTON.match(stripped)
        if match:
            return self.press(name, match.group("label"))
        if stripped.startswith("/") and len(stripped) > 1:
            command, _, args = stripped[1:].partition(" ")
            return self.send(name, CommandReceived(**self._who(name), command=command, args=args.strip()))
        return self.send(name, TextReceived(**self._who(name), text=line))

    def press(self, name: str, label: str, *, message: int = -1) -> list[Reply]:
        """Press the button labelled ``label`` on a message with buttons (default: the latest)."""
        menus = self.user(name).menus
        if not menus:
            raise UnknownButton(f"{name} has no message with buttons")
        text = menus[message]
        offered = text.all_buttons
        for candidate in offered:
            if candidate.label == label:
                if candidate.private_start is not None:  # a deep link: /start PAYLOAD in private
                    return self.push(name, f"/start {candidate.private_start}")
                return self.send(name, ButtonPressed(**self._who(name), action=candidate.action))
        on_offer = " ".join(f"[{b.label}]" for b in offered)
        raise UnknownButton(f"{name} has no button [{label}]; on offer: {on_offer}")

    def send(self, name: str, event: AnyEvent) -> list[Reply]:
        replies = self.core.handle(event)
        user = self.user(name)
        user.menus.extend(r for r in replies if isinstance(r, Text) and r.buttons)
        return replies

    def _who(self, name: str) -> _Who:
        return {
            "chat": ChatRef(PLATFORM, name, private=True),
            "user_id": name,
            "display_name": name.capitalize(),
            "locale": self.user(name).locale,
        }


def render(name: str, reply: Reply, *, numbered: bool = False) -> str:
    """One reply as the console shows it: ``→ alice: TEXT`` and its buttons."""
    if isinstance(reply, Text):
        lines = [f"→ {name}: {reply.text}"]
        if reply.buttons:
            labels = reply.all_buttons
            if numbered:
                lines.append("  ".join(f"{i}) [{b.label}]" for i, b in enumerate(labels, 1)))
            else:
                lines.append(" ".join(f"[{b.label}]" for b in labels))
        return "\n".join(lines)
    if isinstance(reply, File):
        return f"→ {name}: [file {reply.filename}, {len(reply.data)} bytes] {reply.caption}".rstrip()
    assert isinstance(reply, Image)
    return f"→ {name}: [image {reply.filename}, {len(reply.data)} bytes] {reply.caption}".rstrip()
