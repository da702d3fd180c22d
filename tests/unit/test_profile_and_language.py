from __future__ import annotations

from adapters.console.session import ConsoleSession
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def test_every_field_can_be_edited(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    chat.push("alice", "/profile")
    for button, answer in [
        ("✏️ Name", "Alice B."),
        ("✏️ Home chapter", "[Yokohama]"),
        ("✏️ Interests", "choirs; tea"),
        ("✏️ Time zone", "Asia/Tokyo"),
        ("✏️ About me", "Exchange student 2019."),
    ]:
        chat.push("alice", f"[{button}]")
        replies = chat.push("alice", answer)
        assert "Saved." in texts(replies)
    chat.push("alice", "[✏️ Mentoring]")
    # Choosing to mentor and be mentored goes on to what that needs, one step each.
    assert "Which topics can you help with" in texts(chat.push("alice", "[Mentor and mentee]"))
    assert "How many mentees" in texts(chat.push("alice", "design, law"))
    assert "partner city" in texts(chat.push("alice", "[2]"))
    assert "learning" in texts(chat.push("alice", "[Lyon]"))
    chat.push("alice", "[Deutsch]")
    assert "Saved." in texts(chat.push("alice", "[Done]"))
    chat.push("alice", "[✏️ Languages]")
    chat.push("alice", "[日本語]")
    chat.push("alice", "[Done]")
    [alice] = db.members.values()
    assert alice.display_name == "Alice B."
    assert alice.home_chapter == "yokohama"
    assert alice.interests == ["choirs", "tea"]
    assert alice.time_zone == "Asia/Tokyo"
    assert alice.bio == "Exchange student 2019."
    assert alice.is_mentor and alice.is_mentee
    assert (alice.expertise, alice.mentor_capacity, alice.preferred_chapter) == (["design", "law"], 2, "lyon")
    assert alice.learning == ["de"]
    assert alice.languages == ["en", "ja"]


def test_language_command_switches_replies(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    chat.push("alice", "/language")
    chat.push("alice", "[Deutsch]")
    [alice] = db.members.values()
    assert alice.preferred_language == "de"


def test_language_button_for_visitor_starts_onboarding(chat: ConsoleSession, db: FakeDatabase) -> None:
    chat.push("zoe", "/language")
    replies = chat.push("zoe", "[English]")
    assert "Do you agree?" in texts(replies)
    assert db.members == {}


def test_unknown_profile_field_is_stale(chat: ConsoleSession) -> None:
    from bot.events import ButtonPressed, ChatRef

    onboard_english(chat)
    event = ButtonPressed(chat=ChatRef("console", "alice"), user_id="alice", display_name="A", action="p:shoe_size")
    assert "no longer current" in texts(chat.send("alice", event))
