"""Things that belong in a private chat, asked for in a group: continue there."""

from __future__ import annotations

from bot.context import Context
from bot.replies import MAX_ACTION_BYTES, OPEN_PRIVATE, Button, Reply, Text


def start_payload(*parts: str) -> str:
    """``("announce", "status 1")`` -> ``announce-status-1``: Telegram takes only
    ``[A-Za-z0-9_-]``, at most 64 characters, as a start parameter."""
    words = [w for part in parts for w in part.split()]
    cleaned = "-".join("".join(ch for ch in w if ch.isascii() and (ch.isalnum() or ch in "_-")) for w in words)
    return cleaned[:64]


def continue_in_private(ctx: Context, payload: str) -> list[Reply]:
    """A button that opens the private chat and runs ``/start PAYLOAD`` there."""
    payload = start_payload(payload)
    link = Button(ctx._("Open a private chat"), f"{OPEN_PRIVATE}{payload}"[:MAX_ACTION_BYTES])
    return [Text(ctx._("Let's continue this in a private chat."), ((link,),))]
