"""``/meetups`` (what is coming up), ``/meetup`` (info for everyone; new, edit, cancel,
attendees, checkin for those who run meetups) and ``/checkin CODE``."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.ids import parse_id
from bot.meetups import create, manage
from bot.meetups.cards import ACTION_PREFIX, status_label, when, zone_of
from bot.meetups.model import Attendance, MeetupStatus, Rsvp
from bot.meetups.rsvp import calendar_file, may_answer, member_card, runs
from bot.replies import Button, Reply, Text

USAGE = "/meetup info ID, /meetup new, /meetup edit ID, /meetup cancel ID, /meetup attendees ID, /meetup checkin ID"
#: /checkin works from this long before the start until this long after the end.
CHECKIN_MARGIN = timedelta(hours=1)


def upcoming(ctx: Context, args: str) -> list[Reply]:
    """``/meetups``: the next meetups for the member's chapter, with their answer."""
    assert ctx.member is not None and ctx.member.id is not None
    found = [m for m in ctx.uow.meetups.upcoming(ctx.now(), 2000) if may_answer(ctx, m)][:10]
    if not found:
        return [Text(ctx._("No meetups are planned for your chapter yet."))]
    answers = ctx.uow.meetups.of_member(ctx.member.id, [m.id for m in found if m.id is not None])
    zone = zone_of(ctx.member, ctx.network)
    lines = [ctx._("Coming up:")]
    buttons = []
    for meetup in found:
        answer = status_label(ctx._, answers.get(meetup.id or 0))
        lines.append(f"• #{meetup.id} {meetup.title} · {when(meetup.starts_at, zone, ctx.lang)} · {answer}")
        buttons.append((Button(meetup.title[:40], f"{ACTION_PREFIX}:info:{meetup.id}"),))
    return [Text("\n".join(lines), tuple(buttons))]


def meetup(ctx: Context, args: str) -> list[Reply]:
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb == "info":
        number = parse_id(rest)
        found = ctx.uow.meetups.get(number) if number is not None else None
        if found is None or not (may_answer(ctx, found) or runs(ctx, found)):
            return [Text(ctx._("There is no meetup {id} for you.", id=rest.strip()[:12] or "?"))]
        replies: list[Reply] = [member_card(ctx, found), calendar_file(ctx, found)]
        if runs(ctx, found) and found.followup_survey_id is not None:
            replies.append(_followup(ctx, found.followup_survey_id))
        return replies
    if verb not in ("new", "edit", "cancel", "attendees", "checkin"):
        return [Text(ctx._("Use {usage}.", usage=USAGE))]
    if not create.chapters_run_by(ctx):
        return [Text(ctx._("This command is for coordinators."))]
    if verb == "new":
        return ctx.dialogs.start(ctx, create.DIALOG)
    found = manage.own_meetup(ctx, rest)
    if found is None:
        return [Text(ctx._("There is no meetup {id} that you run.", id=rest.strip()[:12] or "?"))]
    if verb == "edit":
        if found.status is MeetupStatus.CANCELLED:
            return [Text(ctx._("Meetup {id} is cancelled already.", id=found.id))]
        return ctx.dialogs.start(ctx, manage.EDIT_DIALOG, data={"meetup": found.id})
    if verb == "cancel":
        return manage.cancel(ctx, found)
    if verb == "attendees":
        return manage.attendees(ctx, found)
    return manage.checkin_code(ctx, found)


def _followup(ctx: Context, survey_id: int) -> Text:
    """The follow-up survey's turnout, for those who run the meetup."""
    turnout = ctx.uow.surveys.turnout(survey_id)
    return Text(
        ctx._(
            "Follow-up survey: {completed} of {invited} answered. /survey results {id} shows the answers.",
            completed=sum(t.completed for t in turnout),
            invited=sum(t.invited for t in turnout),
            id=survey_id,
        )
    )


def checkin(ctx: Context, args: str) -> list[Reply]:
    """``/checkin CODE``: the member is at the meetup."""
    assert ctx.member is not None and ctx.member.id is not None
    code = args.strip().upper()
    found = ctx.uow.meetups.by_code(code) if code.isascii() and code.isalnum() and len(code) <= 16 else None
    if found is None or found.id is None or found.status is MeetupStatus.CANCELLED:
        return [Text(ctx._("That check-in code is not valid."))]
    found = ctx.uow.meetups.get(found.id, lock=True) or found
    now = ctx.now()
    if now < found.starts_at - CHECKIN_MARGIN:
        return [Text(ctx._("Check-in for {title} is open from an hour before it starts.", title=found.title))]
    if now > found.ends_at + CHECKIN_MARGIN:
        return [Text(ctx._("Check-in for {title} has closed.", title=found.title))]
    assert found.id is not None
    if not (may_answer(ctx, found) or runs(ctx, found)):
        return [Text(ctx._("That check-in code is not valid."))]
    current = ctx.uow.meetups.attendance(found.id, ctx.member.id)
    if current is not None and current.checked_in:
        return [Text(ctx._("You are checked in already. Enjoy {title}!", title=found.title))]
    if current is None:
        # Came without answering: there, and counted as going if a seat is free; otherwise
        # present all the same ("maybe"), so seats and the waitlist stay as they were.
        free = found.capacity is None or (
            not ctx.uow.meetups.waitlist(found.id) and ctx.uow.meetups.seats_taken(found.id) < found.capacity
        )
        current = Attendance(
            meetup_id=found.id,
            member_id=ctx.member.id,
            status=Rsvp.GOING if free else Rsvp.MAYBE,
            position=ctx.uow.meetups.next_position(found.id),
        )
    attendance = current
    attendance.checked_in = True
    ctx.uow.meetups.put(attendance)
    return [Text(ctx._("Checked in. Enjoy {title}!", title=found.title))]
