"""Meetups end to end on real storage (SQLite, and PostgreSQL when configured): a coordinator
creates one in chat, members answer with buttons, seats and the waitlist, edits and
cancellations reach those who answered, reminders, calendar file, check-in, follow-up."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from adapters.bootstrap import App
from adapters.console.session import ConsoleSession
from bot.due import run_due
from bot.members import Member, Role
from bot.replies import File, Text
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWork
from tests.conftest import Clock
from tests.e2e.helpers import outbox, press, texts

START = datetime(2026, 12, 24, 17, 30, tzinfo=UTC)  # 18:30 in Lyon



def _member(
    app: App, name: str, chapter: str = "lyon", *, role: Role | None = None, zone: str | None = None
) -> int:
    with app.uow_factory() as uow:
        member = uow.members.add(
            Member(
                display_name=name.capitalize(),
                consent_at=app.core.services.clock(),
                home_chapter=chapter,
                languages=["en"],
                preferred_language="en",
                time_zone=zone,
            )
        )
        assert member.id is not None
        uow.members.add_identity(member.id, "console", name)
        if role is not None:
            uow.members.grant(member.id, role, chapter)
        uow.commit()
        return member.id


def _create(chat: ConsoleSession, *, capacity: str = "2", when: str = "2026-12-24 18:30") -> str:
    for line in ["/meetup new", "Winter picnic", "[Lyon]", "[Only Lyon]", when, "[2h]", "Parc de la Tête d'Or"]:
        chat.push("coord", line)
    chat.push("coord", capacity)
    chat.push("coord", "[Until it starts]")
    preview = texts(chat.push("coord", "[No description]"))
    assert "Preview:" in preview and "Winter picnic" in preview
    return texts(chat.push("coord", "[Publish]"))




def test_create_announce_and_answer_with_seats_and_waitlist(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    alice, bob, carol = (_member(app, n) for n in ("alice", "bob", "carol"))
    _member(app, "hans", chapter="frankfurt")
    chat = ConsoleSession(app.core)
    done = _create(chat)
    assert "Meetup 1 is announced to 4 members." in done  # Lyon: coord, alice, bob, carol
    announcement = outbox(app, "meetup:1:announce")[f"meetup:1:announce:m{alice}"]
    assert "New meetup!" in announcement.text and "Thu 24 Dec 2026, 18:30 (Europe/Paris)" in announcement.text
    assert [b.action for b in announcement.all_buttons] == ["rsvp:1:going", "rsvp:1:maybe", "rsvp:1:no", "mt:ics:1"]

    first = press(chat, "alice", "rsvp:1:going")
    assert isinstance(first[0], Text) and first[0].replace and "Your answer: going" in first[0].text
    assert "Seats: 1 of 2 taken" in first[0].text
    again = press(chat, "alice", "rsvp:1:going")  # the same press twice changes nothing
    assert "Your answer: going" in texts(again) and "Seats: 1 of 2 taken" in texts(again)
    press(chat, "bob", "rsvp:1:going")
    full = texts(press(chat, "carol", "rsvp:1:going"))
    assert "Your answer: on the waitlist" in full and "you are on the waitlist" in full
    assert "not enough seats" in texts(press(chat, "bob", "rsvp:1:g1"))

    freed = texts(press(chat, "alice", "rsvp:1:no"))
    assert "Your answer: can't go" in freed
    promoted = outbox(app, "meetup:1:promoted")
    (note,) = promoted.values()
    assert next(iter(promoted)).startswith(f"meetup:1:promoted:m{carol}:")
    assert "A seat freed up: you are now going to Winter picnic" in note.text
    assert [b.action for b in note.all_buttons] == ["rsvp:1:no"]  # give the seat back
    with app.uow_factory() as uow:
        states = {a.member_id: a.status.value for a in uow.meetups.attendances(1)}
    assert states == {alice: "no", bob: "going", carol: "going"}


def test_meetups_list_info_and_calendar_file(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    _member(app, "yuki", zone="Asia/Tokyo")
    chat = ConsoleSession(app.core)
    _create(chat)
    press(chat, "yuki", "rsvp:1:maybe")
    listing = texts(chat.push("yuki", "/meetups"))
    assert "#1 Winter picnic · Fri 25 Dec 2026, 02:30 (Asia/Tokyo) · maybe" in listing
    replies = chat.push("yuki", "/meetup info 1")
    (ics,) = [r for r in replies if isinstance(r, File)]
    assert ics.filename == "meetup-1.ics" and ics.mime_type == "text/calendar"
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["UID"]) == "meetup-1.lyon-frankfurt-yokohama-twinning-circle@twinbot"
    assert event.decoded("DTSTART") == START
    assert press(chat, "yuki", "mt:ics:1")[0] == ics  # the same file from the button: a stable UID


def test_edit_and_cancel_tell_everyone_who_answered_in_their_zone(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    yuki = _member(app, "yuki", zone="Asia/Tokyo")
    _member(app, "paul")  # did not answer: not told
    chat = ConsoleSession(app.core)
    _create(chat)
    press(chat, "yuki", "rsvp:1:going")
    chat.push("coord", "/meetup edit 1")
    chat.push("coord", "[Date and time]")
    edited = texts(chat.push("coord", "2026-12-26 15:00"))
    assert "1 members who answered will be told" in edited
    (change,) = outbox(app, "meetup:1:edit1").items()
    assert change[0] == f"meetup:1:edit1:m{yuki}"
    assert "It starts on Sat 26 Dec 2026, 23:00 (Asia/Tokyo)" in change[1].text
    assert "1 members who answered will be told" in texts(chat.push("coord", "/meetup cancel 1"))
    assert "is cancelled" in outbox(app, "meetup:1:cancel")[f"meetup:1:cancel:m{yuki}"].text
    assert "This meetup was cancelled." in texts(press(chat, "yuki", "rsvp:1:going"))
    assert "cancelled already" in texts(chat.push("coord", "/meetup cancel 1"))


def test_only_the_chapters_coordinators_run_a_meetup(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    _member(app, "fritz", chapter="frankfurt", role=Role.COORDINATOR)
    _member(app, "alice")
    _member(app, "hans", chapter="frankfurt")
    chat = ConsoleSession(app.core)
    _create(chat)
    assert "This command is for coordinators." in texts(chat.push("alice", "/meetup new"))
    assert "This command is for coordinators." in texts(chat.push("alice", "/meetup cancel 1"))
    for verb in ("cancel", "edit", "attendees", "checkin"):
        assert "There is no meetup 1 that you run." in texts(chat.push("fritz", f"/meetup {verb} 1")), verb
    assert "for members of other chapters" in texts(press(chat, "hans", "rsvp:1:going"))


def test_dates_are_strict(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    chat = ConsoleSession(app.core)
    for line in ["/meetup new", "Picnic", "[Lyon]", "[Only Lyon]"]:
        chat.push("coord", line)
    assert "can be read two ways" in texts(chat.push("coord", "03/04/2027 18:00"))
    assert "has passed" in texts(chat.push("coord", "2026-11-01 18:00"))
    assert "like 2026-12-24 18:30" in texts(chat.push("coord", "next friday"))
    assert "How long is it?" in texts(chat.push("coord", "24 December 2026 18:30"))


def test_reminders_once_and_never_after_the_start(app: App, clock: Clock) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    alice = _member(app, "alice")
    _member(app, "bob")
    chat = ConsoleSession(app.core)
    _create(chat, capacity="[No limit]")
    press(chat, "alice", "rsvp:1:going")
    press(chat, "bob", "rsvp:1:maybe")  # maybe: not reminded by default
    clock.now = START - timedelta(hours=25)
    assert run_due(app.core.services, clock()).meetups.reminded == 0
    clock.now = START - timedelta(hours=23)
    assert run_due(app.core.services, clock()).meetups.reminded == 1
    assert run_due(app.core.services, clock()).meetups.reminded == 0
    clock.now = START - timedelta(minutes=30)
    assert run_due(app.core.services, clock()).meetups.reminded == 1
    clock.now = START + timedelta(minutes=1)
    assert run_due(app.core.services, clock()).meetups.reminded == 0
    reminders = outbox(app, "meetup:1:remind")
    assert len(reminders) == 2 and all(key.endswith(f":m{alice}") for key in reminders)
    assert all("⏰ Reminder: Winter picnic starts" in r.text for r in reminders.values())


def test_check_in_attendees_and_follow_up_survey(app: App, clock: Clock) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    alice = _member(app, "alice")
    _member(app, "bob")
    chat = ConsoleSession(app.core)
    done = _create(chat, capacity="[No limit]")
    code = done.split("check-in code is ")[1][:6]
    assert code in texts(chat.push("coord", "/meetup checkin 1"))
    press(chat, "alice", "rsvp:1:going")
    press(chat, "bob", "rsvp:1:going")
    assert "open from an hour before" in texts(chat.push("alice", f"/checkin {code}"))
    assert "not valid" in texts(chat.push("alice", "/checkin NOPE42"))
    clock.now = START + timedelta(minutes=10)
    assert "Checked in. Enjoy Winter picnic!" in texts(chat.push("alice", f"/checkin {code.lower()}"))
    assert "checked in already" in texts(chat.push("alice", f"/checkin {code}"))
    replies = chat.push("coord", "/meetup attendees 1")
    text = texts(replies)
    assert "Going: 2 (2 seats): Alice, Bob" in text
    assert "Checked in: 1: Alice" in text and "No-shows: 1: Bob" in text
    (file,) = [r for r in replies if isinstance(r, File)]
    rows = list(csv.reader(io.StringIO(file.data.decode("utf-8-sig"))))
    assert rows[0] == ["member_id", "name", "answer", "guests", "position", "checked_in"]
    assert [r[1] for r in rows[1:] if r[5] == "yes"] == ["Alice"]

    clock.now = START + timedelta(hours=3, minutes=1)  # an hour after the 2-hour meetup
    assert run_due(app.core.services, clock()).meetups.followups == 1
    assert run_due(app.core.services, clock()).meetups.followups == 0
    invitations = outbox(app, ":invite:")
    assert list(invitations) == [f"survey:1:invite:m{alice}"]  # only who checked in
    assert "Winter picnic · your feedback" in invitations[f"survey:1:invite:m{alice}"].text
    info = texts(chat.push("coord", "/meetup info 1"))
    assert "Follow-up survey: 0 of 1 answered. /survey results 1 shows the answers." in info
    assert "Survey 1" in texts(chat.push("coord", "/survey results 1"))  # the Lyon coordinator sees it


def test_coordinators_replace_the_follow_up_template_in_chat(app: App, clock: Clock) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    alice = _member(app, "alice")
    chat = ConsoleSession(app.core)
    for line in [
        "/survey new",
        "Quick pulse",
        "[Rating 1–5]",
        "Was it worth the trip?",
        "[Required]",
        "[Continue]",
        "[Linked to members]",
        "[Lyon]",
        "[when I close it]",
    ]:
        chat.push("coord", line)
    saved = texts(chat.push("coord", "[Use for meetup follow-ups]"))
    assert "From now on meetups send this survey" in saved
    assert outbox(app, "survey:") == {}  # a template is never sent itself
    done = _create(chat, capacity="[No limit]")
    code = done.split("check-in code is ")[1][:6]
    clock.now = START
    chat.push("alice", f"/checkin {code}")
    clock.now = START + timedelta(hours=3, minutes=1)
    assert run_due(app.core.services, clock()).meetups.followups == 1
    (invitation,) = outbox(app, ":invite:").values()
    assert "Winter picnic · Quick pulse" in invitation.text and "1 questions" in invitation.text
    with app.uow_factory() as uow:
        template = uow.surveys.template()
        assert template is not None and template.status.value == "template"
        assert uow.surveys.is_invited(2, alice)


def test_nobody_jumps_the_waitlist_and_fewer_guests_always_fit(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    for name in ("ann", "ben", "cat", "dan", "eve"):
        _member(app, name)
    chat = ConsoleSession(app.core)
    _create(chat, capacity="4")
    press(chat, "ann", "rsvp:1:going")
    press(chat, "ann", "rsvp:1:g2")  # ann +2: 3 seats
    press(chat, "ben", "rsvp:1:going")  # 4 of 4
    press(chat, "cat", "rsvp:1:going")
    press(chat, "cat", "rsvp:1:g2")  # cat +2 waits (needs 3)
    press(chat, "ben", "rsvp:1:no")  # one seat frees; cat needs 3: nobody moves up
    late = texts(press(chat, "eve", "rsvp:1:going"))
    assert "Your answer: on the waitlist" in late  # the free seat is not eve's: cat was first
    with app.uow_factory() as uow:
        states = {a.member_id: a.status.value for a in uow.meetups.attendances(1)}
    assert sorted(states.values()).count("going") == 1  # ann only
    more = texts(press(chat, "dan", "rsvp:1:going"))
    assert "on the waitlist" in more
    fewer = texts(press(chat, "ann", "rsvp:1:g0"))  # fewer guests always fit
    assert "Your answer: going" in fewer and "not enough seats" not in fewer
    with app.uow_factory() as uow:  # ann's two seats went to cat (+2), first in line
        states = {a.member_id: a.status.value for a in uow.meetups.attendances(1)}
    assert sorted(states.values()) == ["going", "going", "no", "waitlist", "waitlist"]


def test_meetup_buttons_answer_only_those_invited(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    _member(app, "hans", chapter="frankfurt")
    chat = ConsoleSession(app.core)
    _create(chat)
    for action in ("mt:info:1", "mt:ics:1", "rsvp:1:going"):
        replies = press(chat, "hans", action)
        assert not [r for r in replies if isinstance(r, File)], action
        assert "Winter picnic" not in texts(replies), action


def test_cancel_withdraws_what_has_not_gone_out(app: App, clock: Clock) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    _member(app, "alice")
    chat = ConsoleSession(app.core)
    _create(chat, capacity="[No limit]")
    press(chat, "alice", "rsvp:1:going")
    clock.now = START - timedelta(hours=23)
    run_due(app.core.services, clock())
    chat.push("coord", "/meetup cancel 1")
    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        rows = uow.session.execute(select(OutboxRow.dedupe_key, OutboxRow.status)).all()
    statuses = {key.split(":")[2]: status for key, status in rows}
    assert statuses["remind"] == "cancelled" and statuses["announce"] == "cancelled"
    assert statuses["cancel"] == "queued"  # the cancellation itself goes out
