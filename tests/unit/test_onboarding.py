from __future__ import annotations

from adapters.console.session import ConsoleSession
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def test_nothing_is_stored_before_consent(chat: ConsoleSession, db: FakeDatabase) -> None:
    chat.push("alice", "/start")
    chat.push("alice", "[English]")
    assert db.members == {} and db.identities == {}
    reply = texts(chat.push("alice", "[No, thanks]"))
    assert "nothing about you was stored" in reply
    assert db.members == {} and db.identities == {}


def test_full_onboarding_builds_the_profile(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    [member] = db.members.values()
    assert member.display_name == "Alice Example"
    assert member.home_chapter == "lyon"
    assert member.languages == ["en"]
    assert member.interests == ["jazz", "cycling"]
    assert member.time_zone == "Europe/Paris"
    assert (member.is_mentor, member.is_mentee) == (True, False)
    assert member.preferred_language == "en"
    assert db.identities == {("console", "alice"): member.id}


def test_welcome_shows_profile(chat: ConsoleSession) -> None:
    chat.push("bob", "/start")
    chat.push("bob", "[English]")
    chat.push("bob", "[I agree]")
    chat.push("bob", "[Keep “Bob”]")
    chat.push("bob", "[Frankfurt am Main]")
    chat.push("bob", "[Deutsch]")
    chat.push("bob", "[Done]")
    chat.push("bob", "[Skip]")
    # the time zone defaults to the chapter's
    assert [b.label for b in chat.user("bob").menus[-1].all_buttons] == ["Europe/Berlin"]
    chat.push("bob", "[Europe/Berlin]")
    reply = texts(chat.push("bob", "[Not now]"))
    assert "Welcome aboard, Bob!" in reply
    assert "Home chapter: Frankfurt am Main" in reply
    assert "Time zone: Europe/Berlin" in reply


def test_validation_keeps_the_step(chat: ConsoleSession, db: FakeDatabase) -> None:
    chat.push("alice", "/start")
    chat.push("alice", "[English]")
    chat.push("alice", "[I agree]")
    assert "1 to 64 characters" in texts(chat.push("alice", "x" * 65))
    chat.push("alice", "Alice")
    assert "choose one of the buttons" in texts(chat.push("alice", "Lyon please"))
    chat.push("alice", "[Lyon]")
    assert "at least one language" in texts(chat.push("alice", "[Done]"))
    chat.push("alice", "[Français]")
    chat.push("alice", "[Done]")
    assert "at most 10 interests" in texts(chat.push("alice", ",".join(f"i{n}" for n in range(11))))
    chat.push("alice", "[Skip]")
    assert "don't know the time zone" in texts(chat.push("alice", "Mars/Olympus"))
    chat.push("alice", "america/new york")
    [member] = db.members.values()
    assert member.time_zone == "America/New_York"


def test_start_again_as_member_shows_profile(chat: ConsoleSession) -> None:
    onboard_english(chat)
    assert "already a member" in texts(chat.push("alice", "/start"))


def test_language_chosen_first_applies_to_consent(chat: ConsoleSession) -> None:
    chat.push("alice", "/start")
    replies = chat.push("alice", "[Español]")
    assert "/profile" in texts(replies)
    # buttons are now in the chosen language (the catalog decides the words)
    labels = [b.label for b in chat.user("alice").menus[-1].all_buttons]
    assert len(labels) == 2
