"""Control characters and invalid Unicode from a client never reach storage or replies."""

from __future__ import annotations

from adapters.console.session import ConsoleSession
from bot.clean_text import clean
from bot.events import ChatRef, CommandReceived, TextReceived
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def test_clean_keeps_text_and_line_breaks_and_drops_control_characters() -> None:
    assert clean("Grüße 👋\nline two\tend") == "Grüße 👋\nline two\tend"
    assert clean("a\x00b\x07c\x1b[31m") == "abc[31m"
    assert clean("half \ud83d pair") == "half \ufffd pair"


def test_a_name_with_nul_and_a_lone_surrogate_is_stored_clean(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat, "alice")
    chat.push("alice", "/profile")
    chat.press("alice", "✏️ Name")
    chat.send(
        "alice",
        TextReceived(
            chat=ChatRef("console", "alice", True),
            user_id="alice",
            display_name="a",
            locale=None,
            text="Ali\x00ce \ud800B.",
        ),
    )
    (alice,) = db.members.values()
    assert alice.display_name == "Alice \ufffdB."


def test_an_unknown_command_is_not_echoed_with_control_characters(chat: ConsoleSession) -> None:
    reply = texts(
        chat.send(
            "bob",
            CommandReceived(
                chat=ChatRef("console", "bob", True),
                user_id="bob",
                display_name="b",
                locale=None,
                command="help\x00\x1b",
                args="",
            ),
        )
    )
    assert "\x00" not in reply and "\x1b" not in reply
