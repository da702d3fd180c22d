"""What the coordinators of a meetup's chapter (and admins) do with it after publishing:
edit (everyone who answered is told), cancel, see the attendees (and a CSV), show the
check-in code. Every rule is checked here, whatever the platform showed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import Translator
from bot.ids import parse_id
from bot.meetups import seats
from bot.meetups.cards import when, zone_of
from bot.meetups.create import MAX_CAPACITY, MAX_DESCRIPTION, MAX_PLACE, MAX_TITLE, when_problem
from bot.meetups.model import Meetup, MeetupStatus, Rsvp
from bot.meetups.publish import tell_answered
from bot.meetups.rsvp import notify_promoted, runs
from bot.meetups.when import EXAMPLE, WhenProblem, parse_when
from bot.replies import File, Reply, Text, rows

EDIT_DIALOG = "meetup-edit"


def own_meetup(ctx: Context, ident: str) -> Meetup | None:
    """The meetup ``ident`` if this member runs it."""
    number = parse_id(ident)
    meetup = ctx.uow.meetups.get(number, lock=True) if number is not None else None
    return meetup if meetup is not None and runs(ctx, meetup) else None


# --- edit ------------------------------------------------------------------------------------


def _fields(_: Translator) -> dict[str, str]:
    return {
        "when": _("Date and time"),
        "minutes": _("Duration"),
        "place": _("Place"),
        "capacity": _("Seats"),
        "title": _("Title"),
        "description": _("Description"),
    }


def _field_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("What do you want to change?"),
        rows(*(button(state, label, key) for key, label in _fields(ctx._).items()), per_row=3),
    )


def _field_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in _fields(ctx._):
        return stay()
    state.data["field"] = value
    return advance("value")


def _value_prompt(ctx: Context, state: DialogState) -> Text:
    meetup = ctx.uow.meetups.get(int(state.data.get("meetup", 0)))
    chapter = ctx.network.chapter(meetup.chapter if meetup else None)
    prompts = {
        "when": ctx._(
            "Send the new date and time in {zone}, like {example}.",
            zone=chapter.time_zone if chapter else "UTC",
            example=EXAMPLE,
        ),
        "minutes": ctx._("Send the new duration in minutes, like 90."),
        "place": ctx._("Send the new place."),
        "capacity": ctx._("Send the new number of seats, or 0 for no limit."),
        "title": ctx._("Send the new title."),
        "description": ctx._("Send the new description."),
    }
    return Text(prompts[str(state.data.get("field", "title"))])


def _value_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    meetup = ctx.uow.meetups.get(int(state.data.get("meetup", 0)), lock=True)
    if meetup is None or not runs(ctx, meetup) or meetup.status is MeetupStatus.CANCELLED:
        return finish(Text(ctx._("There is no meetup {id} that you run.", id=state.data.get("meetup"))))
    field = str(state.data.get("field"))
    body = text.strip()
    problem = _apply(ctx, meetup, field, body)
    if problem is not None:
        return stay(Text(problem))
    meetup.revision += 1
    ctx.uow.meetups.save(meetup)
    if field == "when":  # reminders queued for the old time are withdrawn; new ones follow
        ctx.uow.outbox.withdraw(f"meetup:{meetup.id}:remind:")
    if field == "capacity" and meetup.accepts_answers(ctx.now()):
        promoted = seats.promote(ctx.uow, meetup)
        notify_promoted(ctx.uow, ctx.network, ctx.services.catalogs, meetup, promoted, ctx.now())
    label = _fields(ctx._)[field]
    told = tell_answered(
        ctx.uow,
        ctx.network,
        ctx.services.catalogs,
        meetup,
        ctx.now(),
        key=f"edit{meetup.revision}",
        message=lambda _, lang, local: _(
            "✏️ {title} has changed. It starts on {when}. Place: {place}.",
            title=meetup.title,
            when=local,
            place=meetup.place,
        ),
    )
    details = {"meetup": meetup.id, "field": field, "revision": meetup.revision}
    ctx.uow.audit.record(ctx.member.id if ctx.member else None, "meetup.edit", details, told, ctx.now())
    return finish(
        Text(ctx._("{field} is changed. {count} members who answered will be told.", field=label, count=told))
    )


def _apply(ctx: Context, meetup: Meetup, field: str, body: str) -> str | None:
    """Change one field from the text; the problem in words if the text will not do."""
    limits = {"title": MAX_TITLE, "place": MAX_PLACE, "description": MAX_DESCRIPTION}
    if field in limits:
        if not body or len(body) > limits[field]:
            return ctx._("Please send 1 to {limit} characters.", limit=limits[field])
        setattr(meetup, field, body)
    elif field == "when":
        chapter = ctx.network.chapter(meetup.chapter)
        found = parse_when(body, chapter.time_zone if chapter else "UTC", ctx.now(), [ctx.lang])
        if isinstance(found, WhenProblem):
            return when_problem(ctx, found)
        if meetup.rsvp_deadline is not None:
            deadline = found - (meetup.starts_at - meetup.rsvp_deadline)
            meetup.rsvp_deadline = deadline if deadline > ctx.now() else None  # never closed at once
        meetup.starts_at = found
    elif field == "minutes":
        minutes = parse_id(body)
        if minutes is None or not 15 <= minutes <= 24 * 60:
            return ctx._("Please send a number of minutes from 15 to 1440.")
        meetup.duration = timedelta(minutes=minutes)
    elif field == "capacity":
        number = parse_id(body)
        if number is None or number > MAX_CAPACITY:
            return ctx._("Please send a number from 0 to {most} (0: no limit).", most=MAX_CAPACITY)
        meetup.capacity = number or None  # seats already taken are kept even if it shrinks
    return None


EDIT = Dialog(
    name=EDIT_DIALOG,
    steps={
        "field": Step(_field_prompt, on_button=_field_button),
        "value": Step(_value_prompt, on_text=_value_text),
    },
    order=("field", "value"),
)


# --- cancel, attendees, check-in code --------------------------------------------------------


def cancel(ctx: Context, meetup: Meetup) -> list[Reply]:
    if meetup.status is MeetupStatus.CANCELLED:
        return [Text(ctx._("Meetup {id} is cancelled already.", id=meetup.id))]
    meetup.status = MeetupStatus.CANCELLED
    meetup.revision += 1
    ctx.uow.meetups.save(meetup)
    for kind in ("remind", "promoted", "announce"):  # what has not gone out yet never will
        ctx.uow.outbox.withdraw(f"meetup:{meetup.id}:{kind}:")
    told = tell_answered(
        ctx.uow,
        ctx.network,
        ctx.services.catalogs,
        meetup,
        ctx.now(),
        key="cancel",
        message=lambda _, lang, local: _("❌ {title} on {when} is cancelled.", title=meetup.title, when=local),
    )
    ctx.uow.audit.record(ctx.member.id if ctx.member else None, "meetup.cancel", {"meetup": meetup.id}, told, ctx.now())
    return [
        Text(ctx._("Meetup {id} is cancelled. {count} members who answered will be told.", id=meetup.id, count=told))
    ]


def attendees(ctx: Context, meetup: Meetup) -> list[Reply]:
    assert meetup.id is not None
    everyone = ctx.uow.meetups.attendances(meetup.id)
    names = {i: m.display_name for i, m in ctx.uow.members.get_many([a.member_id for a in everyone]).items()}
    started = ctx.now() >= meetup.starts_at

    def listed(status: Rsvp) -> list[str]:
        return [
            names.get(a.member_id, "?") + (f" (+{a.guests})" if a.guests else "")
            for a in everyone
            if a.status is status
        ]

    going, maybe, waiting = listed(Rsvp.GOING), listed(Rsvp.MAYBE), listed(Rsvp.WAITLIST)
    checked = [names.get(a.member_id, "?") for a in everyone if a.checked_in]
    no_shows = [names.get(a.member_id, "?") for a in everyone if a.status is Rsvp.GOING and not a.checked_in]
    zone = zone_of(ctx.member, ctx.network, meetup)
    lines = [
        f"📅 {meetup.title} · {when(meetup.starts_at, zone, ctx.lang)}",
        ctx._("Going: {count} ({seats} seats)", count=len(going), seats=seats.seats_taken(everyone)) + _names(going),
        ctx._("Maybe: {count}", count=len(maybe)) + _names(maybe),
        ctx._("Waitlist: {count}", count=len(waiting)) + _names(waiting),
        ctx._("Checked in: {count}", count=len(checked)) + _names(checked),
    ]
    if started:
        lines.append(ctx._("No-shows: {count}", count=len(no_shows)) + _names(no_shows))
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["member_id", "name", "answer", "guests", "position", "checked_in"])
    for a in everyone:
        name = names.get(a.member_id, "")
        safe = "'" + name if name.startswith(("=", "+", "-", "@", "\t", "\r")) else name
        writer.writerow([a.member_id, safe, a.status.value, a.guests, a.position, "yes" if a.checked_in else "no"])
    data = table.getvalue().encode("utf-8-sig")
    caption = ctx._("Meetup {id}: every answer", id=meetup.id)
    return [Text("\n".join(lines)), File(f"meetup-{meetup.id}-attendees.csv", data, "text/csv", caption)]


def _names(names: list[str]) -> str:
    return (": " + ", ".join(names[:50]) + (" …" if len(names) > 50 else "")) if names else ""


def checkin_code(ctx: Context, meetup: Meetup) -> list[Reply]:
    return [
        Text(
            ctx._(
                "Check-in code for {title}: {code}. Members send /checkin {code} from an hour before the start "
                "until an hour after the end.",
                title=meetup.title,
                code=meetup.checkin_code,
            )
        )
    ]
