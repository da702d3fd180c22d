"""``twinbot console``: an interactive chat as one user, or a replayed script.

Both run in the asyncio loop that also runs the relays: after each line, the outbox is
drained, so messages the line caused for other people (announcements, intros) are printed
in order, as ``→ name: TEXT`` too.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import TextIO

from adapters.console.session import ConsoleSession, UnknownButton, render

_SCRIPT_LINE = re.compile(r"^(?P<user>[A-Za-z0-9_.-]+):\s?(?P<text>.*)$")

AfterLine = Callable[[], Awaitable[object]]


async def _nothing() -> None:
    return None


async def run_script(
    session: ConsoleSession, lines: Iterable[str], out: TextIO = sys.stdout, after_line: AfterLine = _nothing
) -> int:
    """Replay ``user: TEXT`` lines and print every reply. Returns an exit status."""
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SCRIPT_LINE.match(line)
        if not match:
            print(f"line {number}: expected 'name: text', got {line!r}", file=sys.stderr)
            return 2
        user, text = match.group("user"), match.group("text")
        print(f"{user}: {text}", file=out)
        try:
            replies = session.push(user, text)
        except UnknownButton as exc:
            print(f"line {number}: {exc}", file=sys.stderr)
            return 1
        for reply in replies:
            print(render(user, reply), file=out)
        await after_line()
    return 0


async def run_interactive(
    session: ConsoleSession,
    user: str,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    after_line: AfterLine = _nothing,
) -> int:
    """Chat as ``user``: buttons are numbered, a number presses one. Ends at end of input."""
    print(f"Chatting as {user}. Send /start to join, /help for commands; Ctrl-D to leave.", file=out)
    loop = asyncio.get_running_loop()
    offered: list[str] = []
    while True:
        if stdin.isatty():
            print("> ", end="", file=out, flush=True)
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            print(file=out)
            return 0
        text = line.rstrip("\n")
        if text.strip().isdigit() and 0 < int(text.strip()) <= len(offered):
            text = f"[{offered[int(text.strip()) - 1]}]"
        try:
            replies = session.push(user, text)
        except UnknownButton as exc:
            print(f"! {exc}", file=out)
            continue
        for reply in replies:
            print(render(user, reply, numbered=True), file=out)
        out.flush()
        await after_line()
        menus = session.user(user).menus
        offered = [b.label for b in menus[-1].all_buttons] if menus else []
