"""A commit that queued outbox rows wakes the relays of those platforms, and only then."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import OutboxItem, Target, TargetKind
from bot.replies import Text
from storage.uow import SqlUnitOfWork


def _item(key: str, platform: str) -> OutboxItem:
    return OutboxItem(key, Target(platform, TargetKind.USER, "1"), Text("hi"), datetime.now(UTC))


def test_commit_wakes_the_platforms_it_queued_for(session_factory: sessionmaker[Session]) -> None:
    woken: list[set[str]] = []
    with SqlUnitOfWork(session_factory, after_commit=woken.append) as uow:
        uow.outbox.add(_item("a", "telegram"))
        uow.outbox.add(_item("b", "discord"))
        uow.commit()
    assert woken == [{"telegram", "discord"}]
    with SqlUnitOfWork(session_factory, after_commit=woken.append) as uow:
        uow.outbox.add(_item("a", "telegram"))  # a duplicate queues nothing, wakes nobody
        uow.commit()
    with SqlUnitOfWork(session_factory, after_commit=woken.append) as uow:
        uow.outbox.add(_item("c", "telegram"))  # rolled back: nobody is woken
    assert woken == [{"telegram", "discord"}]
