"""A commit that queued outbox rows wakes the relays of those platforms, and only then."""

from __future__ import annotations

import contextlib
import queue
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from adapters.relays import OutboxListener
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


def test_a_commit_on_postgresql_wakes_relays_in_other_processes(
    session_factory: sessionmaker[Session], db_url: str
) -> None:
    """NOTIFY is sent with the commit (not on rollback, not for a duplicate); a relay
    process's OutboxListener hears it on a connection of its own and wakes that platform."""
    if not db_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    woken: queue.Queue[set[str]] = queue.Queue()

    class Relays:
        def wake(self, platforms: set[str] | None = None) -> None:
            woken.put(set(platforms or ()))

    listener = OutboxListener(db_url, Relays())  # type: ignore[arg-type]
    listener.start()
    try:
        assert listener.listening.wait(10)
        with SqlUnitOfWork(session_factory, notify=True) as uow:
            uow.outbox.add(_item("n1", "discord"))  # rolled back: no notification
        with SqlUnitOfWork(session_factory, notify=True) as uow:
            uow.outbox.add(_item("n2", "telegram"))
            uow.outbox.add(_item("n3", "discord"))
            uow.commit()
        heard: set[str] = set()
        deadline = time.monotonic() + 5
        while heard != {"telegram", "discord"} and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                heard |= woken.get(timeout=0.2)
        assert heard == {"telegram", "discord"}
        with SqlUnitOfWork(session_factory, notify=True) as uow:
            uow.outbox.add(_item("n2", "telegram"))  # a duplicate queues nothing: no notification
            uow.commit()
        with pytest.raises(queue.Empty):
            woken.get(timeout=1.5)
    finally:
        listener.stop()
