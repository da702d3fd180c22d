"""Text from outside, made safe to store and show: control characters (NUL and the like)
dropped, line breaks and tabs kept, lone surrogates (invalid Unicode some clients send)
replaced by U+FFFD. Applied to every event before the core looks at it."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any

from bot.events import AnyEvent, CommandReceived, TextReceived

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    if text.isprintable():
        return text  # the common case, at once
    text = _SURROGATE.sub("\ufffd", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def clean_event(event: AnyEvent) -> AnyEvent:
    changes: dict[str, Any] = {}
    if event.display_name != (name := clean(event.display_name)):
        changes["display_name"] = name
    if isinstance(event, TextReceived) and event.text != (body := clean(event.text)):
        changes["text"] = body
    if isinstance(event, CommandReceived):
        if event.args != (args := clean(event.args)):
            changes["args"] = args
        if event.command != (command := clean(event.command)):
            changes["command"] = command
    return dataclasses.replace(event, **changes) if changes else event
