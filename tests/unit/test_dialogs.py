"""The dialog engine: stale buttons, repeated presses, /cancel, restart."""

from __future__ import annotations

from adapters.console.session import ConsoleSession
from bot.core import Core
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import texts


def test_button_of_an_older_prompt_is_stale(chat: ConsoleSession, db: FakeDatabase) -> None:
    chat.push("alice", "/start")
    chat.push("alice", "[English]")
    chat.push("alice", "[I agree]")
    # press "I agree" on the consent message again: it is no longer current
    reply = texts(chat.press("alice", "I agree", message=-2))
    assert "no longer current" in reply
    assert len(db.members) == 1


def test_same_button_twice_changes_nothing(chat: ConsoleSession, db: FakeDatabase) -> None:
    chat.push("alice", "/start")
    chat.push("alice", "[English]")
    chat.push("alice", "[I agree]")
    chat.push("alice", "Alice")
    chat.push("alice", "[Lyon]")
    state_before = db.dialogs[("console", "alice")]
    assert "no longer current" in texts(chat.press("alice", "Lyon", message=-2))
    assert db.dialogs[("console", "alice")] == state_before


def test_cancel_leaves_the_dialog(chat: ConsoleSession, db: FakeDatabase) -> None:
    chat.push("alice", "/start")
    chat.push("alice", "[English]")
    assert "Cancelled" in texts(chat.push("alice", "/cancel"))
    assert "nothing to cancel" in texts(chat.push("alice", "/cancel"))
    assert "no longer current" in texts(chat.press("alice", "I agree"))
    assert db.members == {}


def test_a_new_core_continues_the_dialog(chat: ConsoleSession, db: FakeDatabase, core: Core) -> None:
    chat.push("alice", "/start")
    chat.push("alice", "[English]")
    chat.push("alice", "[I agree]")
    restarted = ConsoleSession(Core(core.services))
    assert "Which city" in texts(restarted.push("alice", "Alice Again"))
    [member] = db.members.values()
    assert member.display_name == "Alice Again"


def test_failure_rolls_back_and_apologises(chat: ConsoleSession, db: FakeDatabase, core: Core) -> None:
    chat.push("alice", "/start")
    before = dict(db.dialogs)

    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    core.dialogs.on_button = boom  # type: ignore[method-assign]
    reply = texts(chat.push("alice", "[English]"))
    assert "something went wrong" in reply
    assert "disk on fire" not in reply
    assert db.dialogs == before
