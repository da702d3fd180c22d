"""Regressions for what the code review found: each was reproduced before its fix."""

from __future__ import annotations

import re

import pytest

from adapters.console.session import ConsoleSession
from bot import member_admin, member_csv
from bot.announcements import AnnouncementStatus
from bot.context import Services
from bot.core import Core
from bot.due import run_due
from bot.events import ChatRef, CommandReceived, TextReceived
from bot.members import Role
from bot.network import Network
from tests.conftest import Clock
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork
from tests.unit.helpers import onboard_english, texts


def test_consent_from_an_account_linked_meanwhile_stores_no_second_member(
    chat: ConsoleSession, db: FakeDatabase
) -> None:
    onboard_english(chat, "alice")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", texts(chat.push("alice", "/link")))
    assert code
    chat.push("bob", "/start")
    chat.push("bob", "[English]")
    assert "Linked!" in texts(chat.push("bob", f"/link {code.group(0)}"))
    assert "already a member" in texts(chat.press("bob", "I agree"))
    assert len(db.members) == 1


def test_admin_is_network_wide_only(network: Network, db: FakeDatabase) -> None:
    rows = "display_name,home_chapter,consent_at,roles\nMarie,lyon,2026-01-01T00:00:00+00:00,admin@lyon\n"
    with pytest.raises(member_csv.CsvProblems, match="admin is network-wide"):
        member_csv.parse(rows, network)
    ok = "display_name,home_chapter,consent_at,identities\nMarie,lyon,2026-01-01T00:00:00+00:00,console:marie\n"
    with FakeUnitOfWork(db) as uow:
        member_admin.import_members(uow, ok, network)
    with FakeUnitOfWork(db) as uow, pytest.raises(member_admin.MemberNotFound, match="network-wide"):
        member_admin.grant(uow, Role.ADMIN, "console:marie", "lyon", network)


def test_switches_set_rather_than_flip(chat: ConsoleSession, db: FakeDatabase) -> None:
    onboard_english(chat)
    chat.push("alice", "/profile")
    chat.push("alice", "[🔕 Mute announcements]")
    chat.press("alice", "🔕 Mute announcements", message=-2)  # the same button again, on the older card
    [alice] = db.members.values()
    assert alice.announcements_muted


def test_group_chatter_gets_no_answer(core: Core) -> None:
    group = ChatRef("telegram", "-100", private=False)
    assert core.handle(TextReceived(chat=group, user_id="1", display_name="A", text="See you all tonight!")) == []


def _schedule_as_coordinator(chat: ConsoleSession, db: FakeDatabase, when: str) -> None:
    """claire, coordinator of Lyon, schedules an announcement to all of Lyon at ``when``."""
    onboard_english(chat, "claire")
    db.roles.add((db.identities[("console", "claire")], Role.COORDINATOR, "lyon"))
    for line in ["/announce", "[English]", "Hello", "[Continue]", "[Lyon]", "[all members]", "[Later]", when, "[Send]"]:
        chat.push("claire", line)


def test_a_posted_deep_link_cannot_cancel_an_announcement(chat: ConsoleSession, db: FakeDatabase, core: Core) -> None:
    _schedule_as_coordinator(chat, db, "2026-12-24 18:00")
    [announcement] = db.announcements.values()
    link = CommandReceived(
        chat=ChatRef("console", "claire"),
        user_id="claire",
        display_name="C",
        command="start",
        args=f"announce-cancel-{announcement.id}",
    )
    replies = core.handle(link)
    assert "In which language" in texts(replies)  # the dialog opens; nothing is cancelled
    assert db.announcements[announcement.id or 0].status is AnnouncementStatus.SCHEDULED


def test_a_demoted_authors_scheduled_announcement_is_not_sent(
    chat: ConsoleSession, db: FakeDatabase, clock: Clock, core_services: Services
) -> None:
    _schedule_as_coordinator(chat, db, "2026-11-30 18:00")
    db.roles.clear()
    clock.advance(days=2)
    assert run_due(core_services, clock()).announcements == 0
    assert db.outbox == {}
    [announcement] = db.announcements.values()
    assert announcement.status is AnnouncementStatus.CANCELLED
    assert db.audit[-1][1] == "announce.cancel"


def test_a_chapters_coordinators_are_reached_wherever_they_live(chat: ConsoleSession, db: FakeDatabase) -> None:
    from bot.audience import Audience

    onboard_english(chat, "claire")  # lives in Lyon
    onboard_english(chat, "jonas", chapter="Frankfurt am Main")  # lives in Frankfurt, coordinates Lyon
    onboard_english(chat, "alice")
    db.roles.add((db.identities[("console", "claire")], Role.COORDINATOR, "lyon"))
    db.roles.add((db.identities[("console", "jonas")], Role.COORDINATOR, "lyon"))
    with FakeUnitOfWork(db) as uow:
        lyon = {m.display_name for m in Audience(("lyon",), "coordinators").members(uow)}
        frankfurt = {m.display_name for m in Audience(("frankfurt",), "coordinators").members(uow)}
        anywhere = {m.display_name for m in Audience((), "coordinators").members(uow)}
    assert lyon == {"Claire Example", "Jonas Example"}
    assert frankfurt == set()
    assert anywhere == {"Claire Example", "Jonas Example"}
