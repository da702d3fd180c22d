"""The unit of work commits what it is told to and rolls back the rest."""

from __future__ import annotations

import pytest

from bot.dialogs.state import DialogState
from bot.events import ChatRef
from bot.ports import UnitOfWork

from .conftest import UowFactory
from .helpers import member


def _names(uow_factory: UowFactory) -> list[str]:
    with uow_factory() as uow:
        return [m.display_name for m in uow.members.list()]


def test_uncommitted_work_is_rolled_back(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.members.add(member())
        uow.dialogs.put(ChatRef("console", "1"), DialogState("onboarding", "name"))
    assert _names(uow_factory) == []
    with uow_factory() as uow:
        assert uow.dialogs.get(ChatRef("console", "1")) is None


def test_an_exception_rolls_back(uow_factory: UowFactory) -> None:
    with pytest.raises(RuntimeError), uow_factory() as uow:
        uow.members.add(member())
        raise RuntimeError("handler failed")
    assert _names(uow_factory) == []


def test_only_what_was_committed_stays(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.members.add(member(display_name="kept"))
        uow.commit()
        uow.members.add(member(display_name="dropped"))
    assert _names(uow_factory) == ["kept"]


def test_explicit_rollback(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.members.add(member(display_name="undone"))
        uow.rollback()
        uow.members.add(member(display_name="kept"))
        uow.commit()
    assert _names(uow_factory) == ["kept"]


def test_repositories_are_gone_after_the_block(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError):
        uow.commit()
    with uow:
        pass
    with pytest.raises(AttributeError):
        uow.members.count()
    with pytest.raises(RuntimeError):
        _ = uow.session
    with uow:  # a unit of work may be used again, one block at a time
        assert uow.members.count() == 0
        with pytest.raises(RuntimeError), uow:
            pass


def test_it_is_the_core_port(uow_factory: UowFactory) -> None:
    uow: UnitOfWork = uow_factory()
    with uow as opened:
        assert opened is uow
        assert opened.members.count() == 0
