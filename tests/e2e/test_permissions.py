"""Every privileged action in bot/permissions.py, tried by a plain member, a coordinator of
another chapter and a member whose coordinator role was revoked, through the core on real
storage (SQLite, and PostgreSQL when configured): none succeeds, nothing in the database
changes, and each gets a clear refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.bootstrap import App
from adapters.console.session import ConsoleSession
from bot.announcements import Announcement, AnnouncementStatus
from bot.audience import Audience
from bot.events import ButtonPressed, ChatRef, CommandReceived
from bot.meetups.model import Meetup
from bot.members import Member, Role
from bot.mentoring.model import CoffeeRound, Mentorship
from bot.permissions import COORDINATOR_ANY, PRIVILEGES, Privilege
from bot.replies import Reply, Text
from bot.surveys.dispatch import open_survey
from bot.surveys.model import Kind, Question, Survey
from storage.models import Base

REFUSALS = (
    "This command is for coordinators.",
    "This command is for admins.",
    "that you run",
    "that you can see",
    "There is no",
    "no longer current",
    "You do not coordinate",
    "for members of other chapters",
    "You cannot announce",
)
PERSONAS = ("plain", "other", "revoked")


#: The platform user ids of the people in world() on Telegram (console uses their names).
TELEGRAM_IDS = {"owner": 6101, "lea": 6102, "yui": 6103, "plain": 6104, "other": 6105, "revoked": 6106}


def _member(
    app: App, name: str, chapter: str, platform: str = "console", user_ids: dict[str, str] | None = None, **fields: Any
) -> int:
    with app.uow_factory() as uow:
        member = uow.members.add(
            Member(display_name=name.capitalize(), consent_at=app.core.services.clock(), home_chapter=chapter,
                   languages=["en"], preferred_language="en", **fields)
        )
        assert member.id is not None
        user_id = (user_ids or {}).get(name) or (str(TELEGRAM_IDS[name]) if platform == "telegram" else name)
        uow.members.add_identity(member.id, platform, user_id)
        uow.commit()
        return member.id


def world(app: App, platform: str = "console", user_ids: dict[str, str] | None = None) -> dict[str, int]:
    """Lyon's objects, made by Lyon's coordinator; and the three who will try them."""
    now = app.core.services.clock()
    ids = {
        "owner": _member(app, "owner", "lyon", platform, user_ids),
        "lea": _member(app, "lea", "lyon", platform, user_ids, is_mentee=True),
        "yui": _member(app, "yui", "yokohama", platform, user_ids, is_mentor=True),
        "plain": _member(app, "plain", "lyon", platform, user_ids),
        "other": _member(app, "other", "frankfurt", platform, user_ids),
        "revoked": _member(app, "revoked", "lyon", platform, user_ids),
    }
    with app.uow_factory() as uow:
        uow.members.grant(ids["owner"], Role.COORDINATOR, "lyon")
        uow.members.grant(ids["other"], Role.COORDINATOR, "frankfurt")
        uow.members.grant(ids["revoked"], Role.COORDINATOR, "lyon")
        announcement = uow.announcements.add(
            Announcement(ids["owner"], {"en": "Picnic"}, Audience(("lyon",)), AnnouncementStatus.SCHEDULED, now,
                         send_at=now + timedelta(days=1))
        )
        survey = uow.surveys.add(
            Survey({"en": "Pulse"}, (Question(Kind.RATING, {"en": "How?"}),), Audience(("lyon",), "mentees"), now,
                   author_id=ids["owner"])
        )
        open_survey(uow, app.network, app.core.services.catalogs, survey, now)
        meetup = uow.meetups.add(
            Meetup("Picnic", "", "lyon", now + timedelta(days=3), timedelta(hours=2), "Parc", Audience(("lyon",)),
                   now, capacity=5, author_id=ids["owner"], checkin_code="PICNIC")
        )
        pair = uow.mentoring.add(Mentorship(mentor_id=ids["yui"], mentee_id=ids["lea"], created_at=now))
        coffee = uow.mentoring.add_round(CoffeeRound("lyon", now, [[ids["owner"], ids["lea"]]]))
        uow.commit()
    with app.uow_factory() as uow:  # the revoked coordinator loses the role before trying anything
        assert uow.members.revoke(ids["revoked"], Role.COORDINATOR, "lyon", "")
        uow.commit()
    assert announcement.id and survey.id and meetup.id and pair.id and coffee.id
    return ids | {
        "announcement": announcement.id,
        "survey": survey.id,
        "meetup": meetup.id,
        "mentorship": pair.id,
        "coffee": coffee.id,
    }


def snapshot(app: App) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    found: dict[str, list[str]] = {}
    with app.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            found[table.name] = sorted(repr(tuple(row)) for row in rows)
    return found


def refused_for(privilege: Privilege) -> tuple[str, ...]:
    if privilege.needs == COORDINATOR_ANY or privilege.needs.startswith(COORDINATOR_ANY + " ("):
        return ("plain", "revoked")  # any coordinator may: the Frankfurt one too, for Frankfurt
    if privilege.action.startswith(("rsvp:", "mt:")):
        return ("other",)  # Lyon's members may answer a Lyon meetup; a Frankfurt coordinator may not
    return PERSONAS


def _try(chat: ConsoleSession, user: str, privilege: Privilege, ids: dict[str, int]) -> list[Reply]:
    action = privilege.action.format(**ids)
    ref = ChatRef("console", user, True)
    if privilege.kind == "button":
        return chat.send(user, ButtonPressed(chat=ref, user_id=user, display_name=user, action=action))
    command, _, args = action[1:].partition(" ")
    return chat.send(
        user, CommandReceived(chat=ref, user_id=user, display_name=user, locale=None, command=command, args=args)
    )


@pytest.mark.parametrize("privilege", PRIVILEGES, ids=lambda p: p.action)
def test_every_privileged_action_is_refused_and_changes_nothing(app: App, privilege: Privilege) -> None:
    ids = world(app)
    chat = ConsoleSession(app.core)
    for persona in refused_for(privilege):
        before = snapshot(app)
        replies = _try(chat, persona, privilege, ids)
        said = "\n".join(r.text for r in replies if isinstance(r, Text))
        assert any(refusal in said for refusal in REFUSALS), (persona, privilege.action, said)
        assert "Sorry" not in said
        assert snapshot(app) == before, (persona, privilege.action)


def test_the_table_covers_every_command_that_needs_a_role() -> None:
    from bot.commands import COMMANDS

    listed = {p.action.split()[0][1:] for p in PRIVILEGES if p.kind == "command"}
    assert {c.name for c in COMMANDS if c.role is not None} <= listed


def test_admins_read_and_export_the_audit_log(app: App) -> None:
    ids = world(app)
    admin = _member(app, "root", "lyon")
    with app.uow_factory() as uow:
        uow.members.grant(admin, Role.ADMIN, None)
        uow.audit.record(ids["owner"], "announce.send", {"announcement": 1}, 12, app.core.services.clock())
        uow.commit()
    chat = ConsoleSession(app.core)
    shown = "\n".join(r.text for r in chat.push("root", "/audit") if isinstance(r, Text))
    assert "Owner · announce.send · 12" in shown
    (export,) = chat.push("root", "/audit export")
    assert not isinstance(export, Text) and export.filename == "audit-log.csv"
    rows = export.data.decode("utf-8-sig").splitlines()
    assert rows[0] == "id,at,actor_id,actor,action,audience_size,details"
    assert any(",Owner,announce.send,12," in row for row in rows[1:])
