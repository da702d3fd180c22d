"""The RSVP buttons: Going / Maybe / Can't go and guests, pressed on an announcement or a
card. The answer replaces the card, showing the member's current answer; a seat that frees
goes to the first on the waitlist, who is told with a button to give it back."""

from __future__ import annotations

from datetime import datetime

from bot.broadcast import default_zone, direct_recipients, reachable_target
from bot.context import Context
from bot.delivery import OutboxItem
from bot.i18n import Catalogs
from bot.ids import parse_id
from bot.meetups import seats
from bot.meetups.calendar import ics_filename, meetup_ics
from bot.meetups.cards import RSVP_PREFIX, card, when, zone_of
from bot.meetups.model import Attendance, Meetup, MeetupStatus, Rsvp
from bot.members import Role
from bot.network import Network
from bot.ports import UnitOfWork
from bot.quiet_hours import next_allowed
from bot.replies import Button, File, Reply, Text

CHOICES = {"going": Rsvp.GOING, "maybe": Rsvp.MAYBE, "no": Rsvp.NO}
GUESTS = {"g0": 0, "g1": 1, "g2": 2}


def runs(ctx: Context, meetup: Meetup) -> bool:
    """Coordinators of the meetup's chapter, and admins."""
    return ctx.has_role(Role.COORDINATOR, meetup.chapter)


def may_answer(ctx: Context, meetup: Meetup) -> bool:
    """Members of the meetup's audience chapters (any member when it is for every chapter)."""
    if ctx.member is None:
        return False
    return not meetup.audience.chapters or ctx.member.home_chapter in meetup.audience.chapters


def on_button(ctx: Context, value: str) -> list[Reply]:
    ident, _, verb = value.partition(":")
    meetup_id = parse_id(ident)
    if meetup_id is None or (verb not in CHOICES and verb not in GUESTS):
        return [Text(ctx._("This button is no longer current."))]
    if ctx.member is None or ctx.member.id is None:
        return [Text(ctx._("You are not a member yet. Send /start to join."))]
    meetup = ctx.uow.meetups.get(meetup_id, lock=True)  # answers to one meetup take turns
    if meetup is None:
        return [Text(ctx._("This meetup no longer exists."))]
    if meetup.status is MeetupStatus.CANCELLED:
        return [Text(ctx._("This meetup was cancelled."))]
    if not may_answer(ctx, meetup):
        return [Text(ctx._("This meetup is for members of other chapters."))]
    if not meetup.accepts_answers(ctx.now()):
        return [Text(ctx._("Answers to this meetup are closed."))]
    notes: list[Reply] = []
    if verb in CHOICES:
        before = ctx.uow.meetups.attendance(meetup_id, ctx.member.id)
        change = seats.answer(ctx.uow, meetup, ctx.member.id, CHOICES[verb])
        if change.full:
            notes.append(
                Text(ctx._("The meetup is full: you are on the waitlist and will be told if a seat frees up."))
            )
        if before is not None and before.status is Rsvp.GOING and change.attendance.status is not Rsvp.GOING:
            notify_promoted(
                ctx.uow, ctx.network, ctx.services.catalogs, meetup, seats.promote(ctx.uow, meetup), ctx.now()
            )
    else:
        guest_change = seats.set_guests(ctx.uow, meetup, ctx.member.id, GUESTS[verb])
        if guest_change is None:
            return [Text(ctx._("First answer Going, then add your guests."))]
        if guest_change.no_room_for_guests:
            notes.append(Text(ctx._("There are not enough seats left for your guests.")))
        elif guest_change.changed:
            notify_promoted(
                ctx.uow, ctx.network, ctx.services.catalogs, meetup, seats.promote(ctx.uow, meetup), ctx.now()
            )
    if not ctx.chat.private:
        # A shared chat: the card with this member's answer goes to them alone.
        _to_member(ctx, meetup, [member_card(ctx, meetup), *notes])
        return []
    return [member_card(ctx, meetup, replace=True), *notes]


def _to_member(ctx: Context, meetup: Meetup, replies: list[Reply]) -> None:
    assert ctx.member is not None and ctx.member.id is not None
    target = reachable_target(ctx.uow.members.identities(ctx.member.id))
    if target is None:
        return
    stamp = ctx.now().isoformat()
    for n, reply in enumerate(replies):
        key = f"meetup:{meetup.id}:card:m{ctx.member.id}:{stamp}:{n}"
        ctx.uow.outbox.add(OutboxItem(key, target, reply, ctx.now(), member_id=ctx.member.id))


def member_card(ctx: Context, meetup: Meetup, *, replace: bool = False) -> Text:
    assert meetup.id is not None
    own = ctx.uow.meetups.attendance(meetup.id, ctx.member.id) if ctx.member and ctx.member.id else None
    shown = card(ctx._, ctx.lang, ctx.network, meetup, ctx.member, own, going=ctx.uow.meetups.seats_taken(meetup.id))
    return Text(shown.text, shown.buttons, replace=replace)


def calendar_file(ctx: Context, meetup: Meetup) -> File:
    chapter = ctx.network.chapter(meetup.chapter)
    zone = chapter.time_zone if chapter else "UTC"
    data = meetup_ics(meetup, zone, ctx.network.name, ctx.now())
    return File(ics_filename(meetup), data, "text/calendar", ctx._("Open it to add the meetup to your calendar."))


def on_action(ctx: Context, value: str) -> list[Reply]:
    """``mt:ics:ID`` (the calendar file) and ``mt:info:ID`` (the card)."""
    verb, _, ident = value.partition(":")
    meetup_id = parse_id(ident)
    meetup = ctx.uow.meetups.get(meetup_id) if meetup_id is not None else None
    if meetup is None or verb not in ("ics", "info") or not (may_answer(ctx, meetup) or runs(ctx, meetup)):
        return [Text(ctx._("This button is no longer current."))]
    return [calendar_file(ctx, meetup)] if verb == "ics" else [member_card(ctx, meetup)]


def notify_promoted(
    uow: UnitOfWork, network: Network, catalogs: Catalogs, meetup: Meetup, promoted: list[Attendance], now: datetime
) -> None:
    """Tell each member who moved up from the waitlist, with a button to give the seat back."""
    if not promoted:
        return
    reach = direct_recipients(uow, network, (a.member_id for a in promoted))
    for attendance in promoted:
        recipient = reach.get(attendance.member_id)
        if recipient is None:
            continue
        member, target, lang = recipient.member, recipient.target, recipient.lang
        _ = catalogs.translator(lang)
        text = _(
            "🎉 A seat freed up: you are now going to {title} on {when}.",
            title=meetup.title,
            when=when(meetup.starts_at, zone_of(member, network, meetup), lang),
        )
        give_back = Button(_("Give my seat back"), f"{RSVP_PREFIX}:{meetup.id}:no")
        uow.outbox.add(
            OutboxItem(
                dedupe_key=f"meetup:{meetup.id}:promoted:m{attendance.member_id}:{attendance.position}",
                target=target,
                reply=Text(text, ((give_back,),)),
                not_before=next_allowed(now, member, default_zone(member, network)),
                member_id=member.id,
                batch=f"meetup:{meetup.id}",
            )
        )
