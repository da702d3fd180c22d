"""Privacy end to end on real storage (SQLite, and PostgreSQL when configured): /mydata gives a
member everything stored about them and nothing about others; /forget (after a confirmation
that only they can give, once) leaves nothing that names or identifies them in any table,
while survey results and meetup figures still add up; the retention rule erases members not
seen for the configured months, and not before."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from adapters.bootstrap import App, bootstrap
from adapters.console.session import ConsoleSession
from bot.announcements import Announcement, AnnouncementStatus
from bot.audience import Audience
from bot.broadcast import publish
from bot.delivery import Status
from bot.dialogs.state import DialogState
from bot.due import run_due
from bot.events import ChatRef
from bot.meetups.model import Attendance, Meetup, Rsvp
from bot.members import Member, Role
from bot.mentoring.intros import introduce, send
from bot.mentoring.model import CoffeeRound, MatchRun, Mentorship
from bot.payload import from_json
from bot.replies import File, Text
from bot.surveys.dispatch import open_survey
from bot.surveys.model import Answer, Kind, Question, Response, Survey
from bot.surveys.results import compute
from config import load_settings
from storage.models import Base, MemberRow, OutboxRow
from storage.uow import SqlUnitOfWork
from tests.conftest import Clock
from tests.e2e.helpers import press, texts

NAME = "Zephyrine Quill"
CONSOLE_ID = "zq-4711"
TELEGRAM_ID = "987654321"
OTTO = "Otto Brenner"
OTTO_ID = "ob-2288"




def _member(app: App, name: str, user_id: str, *, chapter: str = "lyon") -> int:
    with app.uow_factory() as uow:
        member = uow.members.add(
            Member(
                display_name=name,
                consent_at=app.core.services.clock(),
                home_chapter=chapter,
                languages=["en"],
                preferred_language="en",
                bio=f"{name} likes jazz",
            )
        )
        assert member.id is not None
        uow.members.add_identity(member.id, "console", user_id)
        uow.commit()
        return member.id


QUESTIONS = (
    Question(Kind.RATING, {"en": "How was the exchange?"}),
    Question(Kind.SINGLE, {"en": "Come again?"}, options=({"en": "Yes"}, {"en": "No"})),
    Question(Kind.TEXT, {"en": "Anything else?"}, required=False),
)


def _survey(app: App, title: str, *, anonymous: bool) -> int:
    now = app.core.services.clock()
    with app.uow_factory() as uow:
        survey = uow.surveys.add(
            Survey(
                title={"en": title},
                questions=QUESTIONS,
                audience=Audience(chapters=("lyon",)),
                created_at=now,
                anonymous=anonymous,
                closes_at=now + timedelta(days=30),
            )
        )
        open_survey(uow, app.network, app.core.services.catalogs, survey, now)
        uow.commit()
        assert survey.id is not None
        return survey.id


def _answer(app: App, survey_id: int, member_id: int, rating: int, choice: int, text: str) -> None:
    with app.uow_factory() as uow:
        survey = uow.surveys.get(survey_id)
        assert survey is not None
        response = uow.surveys.start(
            Response(
                survey_id=survey_id,
                token=survey.token(member_id),
                chapter="lyon",
                member_id=None if survey.anonymous else member_id,
            )
        )
        uow.surveys.put_answer(survey_id, response, 0, Answer(values=(rating,)))
        uow.surveys.put_answer(survey_id, response, 1, Answer(values=(choice,)))
        uow.surveys.put_answer(survey_id, response, 2, Answer(text=text, language="en"))
        response.completed = True
        uow.surveys.save_response(response)
        uow.commit()


def _meetup(app: App, title: str, code: str, starts_in: timedelta, capacity: int | None) -> int:
    now = app.core.services.clock()
    with app.uow_factory() as uow:
        meetup = uow.meetups.add(
            Meetup(
                title=title,
                description="",
                chapter="lyon",
                starts_at=now + starts_in,
                duration=timedelta(hours=2),
                place="Parc de la Tête d'Or",
                audience=Audience(chapters=("lyon",)),
                created_at=now - timedelta(days=20),
                capacity=capacity,
                checkin_code=code,
            )
        )
        uow.commit()
        assert meetup.id is not None
        return meetup.id


def _mark_sent(app: App, condition: Any) -> None:
    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow.session.execute(
            update(OutboxRow).where(condition).values(status=Status.SENT.value, sent_at=app.core.services.clock())
        )
        uow.commit()


@dataclass(frozen=True)
class World:
    zid: int
    oid: int
    uid: int
    named: int
    anonymous: int
    past: int
    upcoming: int
    mentorship: int
    announcement: int


def _world(app: App) -> World:
    """Zephyrine (to be forgotten) with a bit of everything, and Otto and Ulla around her."""
    zid = _member(app, NAME, CONSOLE_ID)
    oid = _member(app, OTTO, OTTO_ID)
    uid = _member(app, "Ulla Berg", "ub-3399")
    now = app.core.services.clock()
    services = app.core.services
    with app.uow_factory() as uow:
        uow.members.add_identity(zid, "telegram", TELEGRAM_ID)
        uow.members.grant(zid, Role.COORDINATOR, "lyon")
        uow.link_codes.add("c0ffee" * 10 + "abcd", zid, now + timedelta(minutes=10))
        uow.dialogs.put(ChatRef("telegram", TELEGRAM_ID), DialogState("profile-edit", "bio", 3, {"draft": "jazz"}))
        uow.reminders.add(f"meetup:m{zid}:24h", zid, now + timedelta(days=3), {"en": "Tomorrow!"})
        mentorship = uow.mentoring.add(
            Mentorship(
                mentor_id=zid,
                mentee_id=oid,
                created_at=now - timedelta(days=20),
                reasons=[("interests", "jazz")],
                met={str(zid): True, str(oid): True},
                feedback={str(zid): 5, str(oid): 4},
                notes={str(zid): "Lovely talks.", str(oid): "Otto's own private words"},
            )
        )
        introduce(uow, app.network, services.catalogs, mentorship, now)  # names and contacts both ways
        coffee = uow.mentoring.add_round(CoffeeRound(scope="lyon", created_at=now, groups=[[zid, oid, uid]]))
        coffee.met = {str(zid): True, str(oid): False}
        uow.mentoring.save_round(coffee)
        otto = uow.members.get(oid)
        assert otto is not None
        intro = f"☕ Coffee round! This time you meet {NAME} (Lyon).\nReach {NAME}: console: {CONSOLE_ID}"
        send(uow, app.network, otto, f"coffee:{coffee.id}:intro:m{oid}", intro, now)  # queued still
        uow.mentoring.add_run(
            MatchRun(
                author_id=zid,
                created_at=now,
                proposals=[{"mentee": oid, "mentor": zid, "score": 1.0, "reasons": []}],
                unmatched=[{"mentee": uid, "reason": "no_shared_language"}],
            )
        )
        uow.mentoring.add_run(
            MatchRun(
                author_id=uid,
                created_at=now,
                proposals=[{"mentee": oid, "mentor": zid, "score": 1.0, "reasons": []}],
                unmatched=[{"mentee": zid, "reason": "no_shared_language"}],
                confirmed=True,
            )
        )
        announcement = uow.announcements.add(
            Announcement(
                author_id=zid,
                texts={"en": "Picnic on Sunday!"},
                audience=Audience(chapters=("lyon",)),
                status=AnnouncementStatus.SCHEDULED,
                created_at=now,
            )
        )
        publish(uow, app.network, services.catalogs, announcement, now)
        uow.audit.record(zid, "announce.send", {"announcement": announcement.id, "by": NAME}, 3, now)
        uow.audit.record(oid, "coffee.round", {"scope": "lyon"}, 3, now)
        uow.commit()
        assert mentorship.id is not None and announcement.id is not None
    # The intros and the announcement went out; the coffee intro to Otto waits.
    _mark_sent(app, OutboxRow.dedupe_key.startswith(f"mentorship:{mentorship.id}:intro:"))
    _mark_sent(app, OutboxRow.dedupe_key.startswith(f"announce:{announcement.id}:"))

    named, anonymous = _survey(app, "Spring exchange", anonymous=False), _survey(app, "Secret ballot", anonymous=True)
    for survey_id in (named, anonymous):
        _answer(app, survey_id, zid, 5, 0, "Zephyrine here: wonderful!")
        _answer(app, survey_id, oid, 3, 1, "Fine.")
    past = _meetup(app, "Autumn walk", "PAST01", -timedelta(days=7), None)
    upcoming = _meetup(app, "Winter picnic", "NEXT01", timedelta(days=10), 1)
    with app.uow_factory() as uow:
        uow.meetups.put(Attendance(past, zid, Rsvp.GOING, guests=1, position=1, checked_in=True))
        uow.meetups.put(Attendance(past, oid, Rsvp.GOING, position=2, checked_in=True))
        uow.meetups.put(Attendance(upcoming, zid, Rsvp.GOING, position=1))
        uow.meetups.put(Attendance(upcoming, oid, Rsvp.WAITLIST, position=2))
        uow.commit()
    return World(zid, oid, uid, named, anonymous, past, upcoming, mentorship.id, announcement.id)


def _mydata(chat: ConsoleSession, user: str) -> dict[str, Any]:
    (reply,) = chat.push(user, "/mydata")
    assert isinstance(reply, File)
    assert reply.filename == "mydata.json" and reply.mime_type == "application/json"
    document: dict[str, Any] = json.loads(reply.data.decode("utf-8"))
    assert reply.data.decode("utf-8").startswith("{\n  ")  # pretty-printed
    return document


def test_mydata_has_everything_about_the_member_and_nothing_about_others(app: App) -> None:
    world = _world(app)
    chat = ConsoleSession(app.core)
    data = _mydata(chat, CONSOLE_ID)
    assert data["profile"]["display_name"] == NAME and data["profile"]["bio"] == f"{NAME} likes jazz"
    assert {"home_chapter", "languages", "coffee", "paused_until", "consent_at", "updated_at"} <= set(data["profile"])
    assert {(i["platform"], i["user_id"]) for i in data["identities"]} == {
        ("console", CONSOLE_ID),
        ("telegram", TELEGRAM_ID),
    }
    assert data["roles"] == [{"role": "coordinator", "chapter": "lyon", "source": ""}]
    assert [(d["platform"], d["dialog"], d["data"]) for d in data["dialogs"]] == [
        ("telegram", "profile-edit", {"draft": "jazz"})
    ]
    meetups = {m["title"]: m for m in data["meetups"]}
    assert meetups["Autumn walk"]["checked_in"] and meetups["Autumn walk"]["guests"] == 1
    assert meetups["Winter picnic"]["answer"] == "going"
    (mentorship,) = data["mentorships"]
    assert mentorship["you_are"] == "mentor" and mentorship["with"] == OTTO
    assert mentorship["your_rating"] == 5 and mentorship["your_note"] == "Lovely talks."
    (coffee,) = data["coffee_rounds"]
    assert coffee["with"] == [OTTO, "Ulla Berg"] and coffee["you_met"] is True
    (answers,) = data["survey_answers"]  # the named survey only: the anonymous one is not linkable
    assert answers["survey"] == world.named and answers["title"] == {"en": "Spring exchange"}
    assert [(a["question_text"]["en"], a["answer"]) for a in answers["answers"]] == [
        ("How was the exchange?", 5),
        ("Come again?", {"en": "Yes"}),
        ("Anything else?", "Zephyrine here: wonderful!"),
    ]
    assert {i["title"]["en"] for i in data["survey_invitations"]} == {"Spring exchange", "Secret ballot"}
    assert data["deliveries"] and all(
        set(d) == {"platform", "status", "batch", "created_at", "sent_at"} for d in data["deliveries"]
    )
    assert {d["batch"] for d in data["deliveries"]} >= {"mentoring", f"announce:{world.announcement}"}
    assert data["link_codes"] == [{"expires_at": data["link_codes"][0]["expires_at"], "used_at": None}]
    assert [a["action"] for a in data["audit"]] == ["announce.send"]
    assert [a["texts"] for a in data["created"]["announcements"]] == [{"en": "Picnic on Sunday!"}]
    assert len(data["reminders"]) == 1
    text = json.dumps(data, ensure_ascii=False)
    # Nothing of others beyond their display names: not their accounts, words, ratings or answers.
    for other in (OTTO_ID, "ub-3399", "Otto's own private words", "Fine.", "c0ffee", "Otto Brenner likes jazz"):
        assert other not in text, other
    # Otto's own file has Otto, not Zephyrine's words.
    otto = json.dumps(_mydata(chat, OTTO_ID), ensure_ascii=False)
    assert OTTO_ID in otto and CONSOLE_ID not in otto and "Lovely talks." not in otto and "wonderful" not in otto


# --- /forget ------------------------------------------------------------------------------------


def _dump(app: App) -> dict[str, list[tuple[Any, ...]]]:
    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        return {
            table.name: sorted((tuple(row) for row in uow.session.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def _as_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) else str(value)


def _member_refs(table: str, row: dict[str, Any]) -> list[int]:
    """Every member id the row refers to: foreign keys to members, and the JSON that holds ids."""
    refs = [
        row[column.name]
        for column in Base.metadata.tables[table].columns
        if any(fk.column.table.name == "members" for fk in column.foreign_keys) and row[column.name] is not None
    ]
    if table == "members":
        refs.append(row["id"])
    if table == "mentorships":
        refs += [row["ended_by"]] + [int(k) for key in ("met", "feedback", "notes") for k in row[key]]
    if table == "coffee_rounds":
        refs += [i for group in row["groups"] for i in group] + [int(k) for k in row["met"]]
    if table == "match_runs":
        refs += [e.get(k) for e in row["proposals"] + row["unmatched"] for k in ("mentee", "mentor") if k in e]
    if table == "survey_responses":
        refs += [int(row["token"][1:])] if re.fullmatch(r"m\d+", row["token"]) else []
    if table in ("outbox", "reminders"):
        key = row["dedupe_key" if table == "outbox" else "key"]
        refs += [int(n) for n in re.findall(r"(?:^|:)m(?:ember)?(\d+)(?=:|$)", key)]
    return refs


def _scan(app: App, words: list[str], member_id: int) -> list[str]:
    """Where, in any table, a word or the member id is still found."""
    found = []
    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)).mappings():
                values = dict(row)
                for column, value in values.items():
                    found += [f"{table.name}.{column}: {word}" for word in words if word in _as_text(value)]
                if member_id in _member_refs(table.name, values):
                    found.append(f"{table.name}: member id {member_id} in {values}")
    return found


def test_forget_erases_the_member_everywhere_and_keeps_anonymous_figures(app: App) -> None:
    world = _world(app)
    chat = ConsoleSession(app.core)
    assert _scan(app, [NAME, CONSOLE_ID, TELEGRAM_ID], world.zid)  # the scan does find her before
    with app.uow_factory() as uow:
        named = uow.surveys.get(world.named)
        anonymous = uow.surveys.get(world.anonymous)
        assert named is not None and anonymous is not None
        before = {s.id: compute(uow, s) for s in (named, anonymous)}
        batch_before = uow.outbox.report(f"announce:{world.announcement}")

    asked = chat.push(CONSOLE_ID, "/forget")
    warning = texts(asked)
    assert "cannot be undone" in warning and "anonymous" in warning
    (yes, no) = [b.action for b in asked[0].all_buttons]  # type: ignore[union-attr]
    assert yes.startswith("fg:yes:") and no.startswith("fg:no:")
    assert "Please choose one of the buttons" in texts(chat.push(CONSOLE_ID, "yes please"))

    snapshot = _dump(app)
    for forged in ("fg:yes", "fg:yes:", "fg:yes:0123456789abcdef", yes.replace("fg:yes", "fg:maybe")):
        assert "no longer current" in texts(press(chat, CONSOLE_ID, forged))
    assert "no longer current" in texts(press(chat, OTTO_ID, yes))  # not Otto's to confirm
    assert _dump(app) == snapshot  # nothing changed

    done = texts(press(chat, CONSOLE_ID, yes))
    assert "everything about you has been erased" in done
    after_first = _dump(app)
    assert "no longer current" in texts(press(chat, CONSOLE_ID, yes))  # a second press
    assert "no longer current" in texts(press(chat, CONSOLE_ID, no))
    assert _dump(app) == after_first
    assert "not a member yet" in texts(chat.push(CONSOLE_ID, "/mydata"))

    # Not her name, nor any of her accounts, nor her id where members are referred to: anywhere.
    assert _scan(app, [NAME, "Zephyrine", CONSOLE_ID, TELEGRAM_ID], world.zid) == []

    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        assert uow.session.get(MemberRow, world.zid) is None
        assert uow.members.by_identity("telegram", TELEGRAM_ID) is None
        # Survey figures are as they were: her answers count, anonymously. An anonymous survey
        # cannot tell that she answered, so its invited count loses her (3 -> 2).
        for survey_id, result in before.items():
            survey = uow.surveys.get(survey_id)
            assert survey is not None
            now = compute(uow, survey)
            lost = 1 if survey.anonymous else 0
            figures = (now.invited + lost, now.started, now.completed)
            assert figures == (result.invited, result.started, result.completed)
            assert [(q.answered, q.counts) for q in now.questions] == [(q.answered, q.counts) for q in result.questions]
            assert sorted(t for _q, t, _lang in uow.surveys.texts(survey_id, [2], 10)) == [
                "Fine.",
                "[removed] here: wonderful!",
            ]
        # Her seat at the upcoming meetup went to Otto, who is told; the past one counts who is left.
        assert {a.member_id: a.status for a in uow.meetups.attendances(world.upcoming)} == {world.oid: Rsvp.GOING}
        assert uow.meetups.seats_taken(world.upcoming) == 1
        assert uow.meetups.attended(world.past) == [world.oid]
        assert uow.meetups.seats_taken(world.past) == 1
        # The announcement's delivery counts stay; the one to her is anonymous.
        assert uow.outbox.report(f"announce:{world.announcement}") == batch_before
        rows = uow.session.scalars(select(OutboxRow)).all()
        to_otto = [(r.status, from_json(r.payload)) for r in rows if r.member_id == world.oid]
        announcement = uow.announcements.get(world.announcement)
        assert announcement is not None and announcement.author_id is None
        audit = uow.audit.recent(10)
    by_status = {status: [] for status in Status}  # type: dict[Status, list[str]]
    for status, reply in to_otto:
        assert isinstance(reply, Text)
        by_status[Status(status)].append(reply.text)
    assert any("One of your mentorships has ended" in t for t in by_status[Status.QUEUED])
    assert any("Meet your mentor: [removed] from Lyon" in t for t in by_status[Status.SENT])
    assert any("Announcement from [removed]" in t for t in by_status[Status.SENT])
    assert any("This time you meet [removed] (Lyon)" in t for t in by_status[Status.CANCELLED])  # never sent
    assert ("privacy.forget", None) in [(e.action, e.actor_id) for e in audit]
    assert {"announcement": world.announcement, "by": "[removed]"} in [e.details for e in audit]

    # Otto's side: his mentorship is gone and he is a mentee again; his own data is whole.
    data = _mydata(chat, OTTO_ID)
    assert data["mentorships"] == [] and data["coffee_rounds"][0]["with"] == ["Ulla Berg"]
    assert [m["answer"] for m in data["meetups"] if m["title"] == "Winter picnic"] == ["going"]


def test_no_keeps_everything(app: App) -> None:
    world = _world(app)
    chat = ConsoleSession(app.core)
    asked = chat.push(CONSOLE_ID, "/forget")
    no = asked[0].all_buttons[1].action  # type: ignore[union-attr]
    assert "Nothing was erased" in texts(press(chat, CONSOLE_ID, no))
    with app.uow_factory() as uow:
        assert uow.members.get(world.zid) is not None
    assert "no longer current" in texts(press(chat, CONSOLE_ID, asked[0].all_buttons[0].action))  # type: ignore[union-attr]


def test_an_old_confirmation_is_refused(app: App, clock: Clock) -> None:
    world = _world(app)
    chat = ConsoleSession(app.core)
    yes = chat.push(CONSOLE_ID, "/forget")[0].all_buttons[0].action  # type: ignore[union-attr]
    clock.advance(hours=1)
    assert "no longer current" in texts(press(chat, CONSOLE_ID, yes))
    with app.uow_factory() as uow:
        assert uow.members.get(world.zid) is not None


def test_forget_and_mydata_are_for_members_in_private(app: App) -> None:
    chat = ConsoleSession(app.core)
    assert "not a member yet" in texts(chat.push("stranger", "/forget"))
    assert "no longer current" in texts(press(chat, "stranger", "fg:yes:0123456789abcdef"))


# --- retention ----------------------------------------------------------------------------------


@pytest.fixture
def retention_app(empty_db_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setenv("TWINBOT_NETWORK__RETENTION_MONTHS", "3")
    application = bootstrap(load_settings(database_url=empty_db_url), clock=clock)
    try:
        yield application
    finally:
        application.close()


def test_retention_erases_an_unreachable_member_after_the_months_and_not_before(
    retention_app: App, clock: Clock
) -> None:
    app = retention_app
    assert app.core.services.retention_months == 3
    gone = _member(app, NAME, CONSOLE_ID)
    busy = _member(app, OTTO, OTTO_ID)
    chat = ConsoleSession(app.core)
    chat.push(CONSOLE_ID, "/help")  # last seen now
    chat.push(OTTO_ID, "/help")
    with app.uow_factory() as uow:
        uow.members.mark_unreachable("console", CONSOLE_ID)  # she blocked the bot
        uow.commit()
    start = clock()
    clock.advance(days=45)
    chat.push(OTTO_ID, "/meetups")  # Otto is around
    assert run_due(app.core.services, clock()).forgotten == 0
    clock.now = start + timedelta(days=91) - timedelta(days=1)  # 27 Feb: not yet three months
    assert run_due(app.core.services, clock()).forgotten == 0
    with app.uow_factory() as uow:
        assert uow.members.get(gone) is not None
    clock.now = start + timedelta(days=92)  # three months and a day
    assert run_due(app.core.services, clock()).forgotten == 1
    with app.uow_factory() as uow:
        assert uow.members.get(gone) is None and uow.members.get(busy) is not None
    assert _scan(app, [NAME, CONSOLE_ID], gone) == []
    assert run_due(app.core.services, clock()).forgotten == 0
