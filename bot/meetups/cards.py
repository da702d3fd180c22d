"""How a meetup looks to one member: in their language, at their local time, with their
answer and the buttons to change it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.i18n import Translator
from bot.meetups.model import Attendance, Meetup, MeetupStatus, Rsvp
from bot.members import Member
from bot.network import Network
from bot.replies import Button, Text

RSVP_PREFIX = "rsvp"  # rsvp:ID:going|maybe|no|g0|g1|g2
ACTION_PREFIX = "mt"  # mt:ics:ID, mt:info:ID


def zone_of(member: Member | None, network: Network, meetup: Meetup | None = None) -> str:
    """The member's time zone, else their chapter's, else the meetup's chapter's."""
    if member is not None and member.time_zone:
        return member.time_zone
    for code in (member.home_chapter if member else None, meetup.chapter if meetup else None):
        chapter = network.chapter(code)
        if chapter is not None:
            return chapter.time_zone
    return "UTC"


def when(moment: datetime, zone: str, lang: str) -> str:
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        local, zone = moment, "UTC"
    return f"{format_datetime(local, 'EEE d MMM y, HH:mm', locale=lang)} ({zone})"


def status_label(_: Translator, attendance: Attendance | None) -> str:
    if attendance is None:
        return _("not answered yet")
    labels = {
        Rsvp.GOING: _("going"),
        Rsvp.MAYBE: _("maybe"),
        Rsvp.NO: _("can't go"),
        Rsvp.WAITLIST: _("on the waitlist"),
    }
    label = labels[attendance.status]
    if attendance.guests and attendance.status in (Rsvp.GOING, Rsvp.WAITLIST):
        label += f" (+{attendance.guests})"
    return label


def card(
    _: Translator,
    lang: str,
    network: Network,
    meetup: Meetup,
    member: Member | None,
    attendance: Attendance | None,
    *,
    going: int,
    personal: bool = True,
    zone: str | None = None,
) -> Text:
    """The meetup with the RSVP buttons; ``personal`` adds the member's own answer. Times are
    in ``zone``, by default the member's."""
    zone = zone or zone_of(member, network, meetup)
    lines = [f"📅 {meetup.title}"]
    if meetup.status is MeetupStatus.CANCELLED:
        lines.append(_("❌ This meetup is cancelled."))
    lines.append(_("When: {when}", when=when(meetup.starts_at, zone, lang)))
    if meetup.place:
        lines.append(_("Where: {place}", place=meetup.place))
    if meetup.capacity is not None:
        lines.append(
            _("Seats: {taken} of {capacity} taken", taken=min(going, meetup.capacity), capacity=meetup.capacity)
        )
    if meetup.rsvp_deadline is not None:
        lines.append(_("Answer by {when}", when=when(meetup.rsvp_deadline, zone, lang)))
    if meetup.description:
        lines += ["", meetup.description]
    if personal:
        lines += ["", _("Your answer: {answer}", answer=status_label(_, attendance))]
    if meetup.status is MeetupStatus.CANCELLED:
        return Text("\n".join(lines))
    return Text("\n".join(lines), buttons(_, meetup, attendance if personal else None))


def buttons(_: Translator, meetup: Meetup, attendance: Attendance | None) -> tuple[tuple[Button, ...], ...]:
    base = f"{RSVP_PREFIX}:{meetup.id}"
    mark = {s: "✅ " if attendance is not None and attendance.status is s else "" for s in Rsvp}
    going_mark = mark[Rsvp.GOING] or mark[Rsvp.WAITLIST]
    layout: list[tuple[Button, ...]] = [
        (
            Button(going_mark + _("Going"), f"{base}:going"),
            Button(mark[Rsvp.MAYBE] + _("Maybe"), f"{base}:maybe"),
            Button(mark[Rsvp.NO] + _("Can't go"), f"{base}:no"),
        )
    ]
    if attendance is not None and attendance.status in (Rsvp.GOING, Rsvp.WAITLIST):
        layout.append(
            tuple(
                Button(("✅ " if attendance.guests == n else "") + label, f"{base}:g{n}")
                for n, label in ((0, _("No guests")), (1, _("+1 guest")), (2, _("+2 guests")))
            )
        )
    layout.append((Button(_("📅 Add to calendar"), f"{ACTION_PREFIX}:ics:{meetup.id}"),))
    return tuple(layout)
