from __future__ import annotations

import re

from adapters.console.session import ConsoleSession
from bot.core import Core
from bot.events import ChatRef, CommandReceived
from tests.conftest import Clock
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def _code(chat: ConsoleSession) -> str:
    match = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", texts(chat.push("alice", "/link")))
    assert match
    return match.group(0)


def _link_from_discord(core: Core, user: str, code: str) -> str:
    chat = ChatRef("discord", user, private=True)
    return texts(core.handle(CommandReceived(chat=chat, user_id=user, display_name="A", command="link", args=code)))


def test_code_links_a_second_platform_once(chat: ConsoleSession, core: Core, db: FakeDatabase) -> None:
    onboard_english(chat)
    code = _code(chat)
    assert "Linked!" in _link_from_discord(core, "d1", code.lower())
    [alice] = db.members.values()
    assert db.identities[("discord", "d1")] == alice.id
    assert "wrong, used or expired" in _link_from_discord(core, "d2", code)


def test_code_expires(chat: ConsoleSession, core: Core, clock: Clock) -> None:
    onboard_english(chat)
    code = _code(chat)
    clock.advance(minutes=11)
    assert "wrong, used or expired" in _link_from_discord(core, "d1", code)


def test_account_with_a_profile_cannot_take_a_code(chat: ConsoleSession, core: Core, db: FakeDatabase) -> None:
    onboard_english(chat)
    onboard_english(chat, user="bob")
    code = _code(chat)
    reply = texts(chat.push("bob", f"/link {code}"))
    assert "already belongs to the profile of Bob Example" in reply
    # the code was not used up by the refusal
    assert "Linked!" in _link_from_discord(core, "d1", code)


def test_visitor_without_code_gets_instructions(chat: ConsoleSession) -> None:
    assert "/link CODE" in texts(chat.push("zoe", "/link"))
