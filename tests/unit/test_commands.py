from __future__ import annotations

from adapters.console.session import ConsoleSession
from bot.core import Core
from bot.events import ChatRef, CommandReceived, TextReceived
from bot.members import Role
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def test_unknown_command_gives_a_hint(chat: ConsoleSession) -> None:
    assert "/help" in texts(chat.push("alice", "/frobnicate"))


def test_help_for_visitor_member_and_coordinator(chat: ConsoleSession, db: FakeDatabase) -> None:
    visitor = texts(chat.push("alice", "/help"))
    assert "/start" in visitor and "/profile" not in visitor
    onboard_english(chat)
    member = texts(chat.push("alice", "/help"))
    assert "/profile" in member and "/members" not in member
    [alice] = db.members.values()
    assert alice.id is not None
    db.roles.add((alice.id, Role.COORDINATOR, "lyon"))
    coordinator = texts(chat.push("alice", "/help"))
    assert "As a coordinator:" in coordinator and "/members" in coordinator


def test_coordinator_command_is_checked_in_the_core(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    assert "for coordinators" in texts(chat.push("alice", "/members"))
    [alice] = db.members.values()
    assert alice.id is not None
    db.roles.add((alice.id, Role.COORDINATOR, "lyon"))
    listing = texts(chat.push("alice", "/members"))
    assert "Lyon: 1 members" in listing and "Alice Example" in listing
    assert "do not coordinate" in texts(chat.push("alice", "/members frankfurt"))


def test_admin_sees_every_chapter(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    [alice] = db.members.values()
    assert alice.id is not None
    db.roles.add((alice.id, Role.ADMIN, None))
    listing = texts(chat.push("alice", "/members"))
    assert "Lyon" in listing and "Frankfurt am Main" in listing and "Yokohama" in listing


def test_member_commands_need_membership(chat: ConsoleSession) -> None:
    assert "Send /start to join" in texts(chat.push("alice", "/profile"))
    assert "Send /start to join" in texts(chat.push("alice", "/members"))


def test_empty_and_overlong_text(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    assert "empty" in texts(chat.push("alice", "   "))
    chat.push("alice", "/profile")
    chat.push("alice", "[✏️ About me]")
    reply = texts(chat.push("alice", "x" * 1001))
    assert "too long (1001 characters; the limit is 1000)" in reply
    [alice] = db.members.values()
    assert alice.bio == ""
    # the dialog is still waiting for the bio
    chat.push("alice", "Hello from Lyon")
    assert alice.bio == "" and db.members[alice.id or 0].bio == "Hello from Lyon"


def test_private_commands_refused_in_groups(core: Core) -> None:
    group = ChatRef("console", "group-1", private=False)
    replies = core.handle(CommandReceived(chat=group, user_id="alice", display_name="Alice", command="start"))
    assert "private chat" in texts(replies)


def test_bot_mention_suffix_is_ignored(core: Core) -> None:
    chat = ChatRef("telegram", "5", private=True)
    replies = core.handle(CommandReceived(chat=chat, user_id="5", display_name="A", command="help@twinbot"))
    assert "/start" in texts(replies)


def test_locale_hint_used_for_visitors(core: Core) -> None:
    chat = ChatRef("telegram", "5", private=True)
    plain = core.handle(TextReceived(chat=chat, user_id="5", display_name="A", text="ok"))
    assert "Send /start to join" in texts(plain)


def test_platform_roles_sync_without_touching_operator_grants(
    chat: ConsoleSession, db: FakeDatabase, core: Core
) -> None:
    onboard_english(chat)
    [alice] = db.members.values()
    assert alice.id is not None
    db.roles.add((alice.id, Role.COORDINATOR, "frankfurt"))  # granted by an operator
    core.sync_platform_roles("console", "alice", {"lyon", "frankfurt", "atlantis"})
    assert db.roles == {(alice.id, Role.COORDINATOR, "frankfurt"), (alice.id, Role.COORDINATOR, "lyon")}
    assert "Lyon: 1 members" in texts(chat.push("alice", "/members lyon"))
    core.sync_platform_roles("console", "alice", set())  # the platform role was removed
    assert db.roles == {(alice.id, Role.COORDINATOR, "frankfurt")}
    assert "do not coordinate" in texts(chat.push("alice", "/members lyon"))
    assert [a for _, a, _, _, _ in db.audit] == ["roles.sync", "roles.sync"]
    core.sync_platform_roles("console", "nobody", {"lyon"})  # not a member: nothing happens
