"""What the end-to-end tests share: reading replies and the outbox, pressing a button."""

from __future__ import annotations

from sqlalchemy import select

from adapters.bootstrap import App
from adapters.console.session import ConsoleSession
from bot.events import ButtonPressed, ChatRef
from bot.payload import from_json
from bot.replies import Reply, Text
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWork


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Text))


def outbox(app: App, fragment: str) -> dict[str, Text]:
    """The queued messages whose dedupe key contains ``fragment``, by key."""
    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        rows = uow.session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key.contains(fragment))).all()
        found = {}
        for row in rows:
            reply = from_json(row.payload)
            assert isinstance(reply, Text)
            found[row.dedupe_key] = reply
        return found


def press(chat: ConsoleSession, user: str, action: str) -> list[Reply]:
    """Press a button with ``action`` in ``user``'s private chat (one that came by the outbox,
    or a forged one)."""
    ref = ChatRef("console", user, True)
    return chat.send(user, ButtonPressed(chat=ref, user_id=user, display_name=user, action=action))
