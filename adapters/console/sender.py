"""The console's Sender: messages for other people are printed as ``→ name: TEXT``."""

from __future__ import annotations

import sys
from typing import TextIO

from adapters.console.session import PLATFORM, ConsoleSession, render
from bot.delivery import Target
from bot.replies import Reply, Text


class ConsoleSender:
    platform = PLATFORM

    def __init__(self, session: ConsoleSession, out: TextIO = sys.stdout) -> None:
        self._session = session
        self._out = out

    async def send(self, target: Target, reply: Reply) -> None:
        print(render(target.target_id, reply), file=self._out)
        self._out.flush()
        if isinstance(reply, Text) and reply.buttons:
            # the recipient can press these buttons in the console, like any other message's
            self._session.user(target.target_id).menus.append(reply)
