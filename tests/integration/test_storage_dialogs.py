"""Dialog state per chat, kept across units of work."""

from __future__ import annotations

from bot.dialogs.state import DialogState
from bot.events import ChatRef

from .conftest import UowFactory

CHAT = ChatRef("telegram", "-100123")


def test_put_get_delete(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        assert uow.dialogs.get(CHAT) is None
        uow.dialogs.put(CHAT, DialogState("onboarding", "name", 1, {"lang": "lv"}))
        assert uow.dialogs.get(CHAT) == DialogState("onboarding", "name", 1, {"lang": "lv"})
        uow.dialogs.put(CHAT, DialogState("onboarding", "chapter", 2, {"lang": "lv", "n": [1]}))
        assert uow.dialogs.get(CHAT) == DialogState("onboarding", "chapter", 2, {"lang": "lv", "n": [1]})
        uow.dialogs.delete(CHAT)
        assert uow.dialogs.get(CHAT) is None
        uow.dialogs.delete(CHAT)  # nothing to delete: no error


def test_state_survives_a_new_unit_of_work(uow_factory: UowFactory) -> None:
    state = DialogState("survey", "q2", 7, {"answers": {"q1": "yes"}, "started": "2026-06-01"})
    with uow_factory() as uow:
        uow.dialogs.put(CHAT, state)
        uow.commit()
    with uow_factory() as uow:
        assert uow.dialogs.get(CHAT) == state
        uow.dialogs.delete(CHAT)
        uow.commit()
    with uow_factory() as uow:
        assert uow.dialogs.get(CHAT) is None


def test_chats_are_separate_per_platform(uow_factory: UowFactory) -> None:
    other = ChatRef("discord", CHAT.chat_id)
    with uow_factory() as uow:
        uow.dialogs.put(CHAT, DialogState("onboarding", "name"))
        uow.dialogs.put(other, DialogState("survey", "q1"))
        uow.commit()
    with uow_factory() as uow:
        uow.dialogs.delete(other)
        uow.commit()
    with uow_factory() as uow:
        assert uow.dialogs.get(CHAT) == DialogState("onboarding", "name")
        assert uow.dialogs.get(other) is None


def test_nested_data_changed_in_place_is_written_on_put(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.dialogs.put(CHAT, DialogState("survey", "q1", 1, {"answers": {}}))
        uow.commit()
    with uow_factory() as uow:
        state = uow.dialogs.get(CHAT)
        assert state is not None
        state.data["answers"]["q1"] = "no"
        assert uow.dialogs.get(CHAT) == DialogState("survey", "q1", 1, {"answers": {}})
        state.step, state.seq = "q2", 2
        uow.dialogs.put(CHAT, state)
        uow.commit()
    with uow_factory() as uow:
        assert uow.dialogs.get(CHAT) == DialogState("survey", "q2", 2, {"answers": {"q1": "no"}})
