"""``/mentor`` and ``/mentee``: opt in or out, pause until a date; the details are asked
right away (expertise, capacity, partner city, languages being learnt)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.context import Context
from bot.replies import Reply, Text

PROFILE_DIALOG = "profile"  # bot.profile's edit dialog runs the mentoring steps


def _zone(ctx: Context) -> ZoneInfo:
    name = ctx.member.time_zone if ctx.member and ctx.member.time_zone else None
    chapter = ctx.network.chapter(ctx.member.home_chapter if ctx.member else None)
    try:
        return ZoneInfo(name or (chapter.time_zone if chapter else "UTC"))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def mentor(ctx: Context, args: str) -> list[Reply]:
    """``/mentor on|off``, ``/mentor pause YYYY-MM-DD``, ``/mentor resume``."""
    assert ctx.member is not None
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb == "on":
        ctx.member.is_mentor = True
        ctx.uow.members.save(ctx.member)
        return ctx.dialogs.start(ctx, PROFILE_DIALOG, step="expertise")
    if verb == "off":
        ctx.member.is_mentor = False
        ctx.uow.members.save(ctx.member)
        return [Text(ctx._("You will get no new mentees. Your current mentorships go on (/mentorship)."))]
    if verb == "pause":
        try:
            day = datetime.strptime(rest.strip(), "%Y-%m-%d").date()
        except ValueError:
            return [Text(ctx._("Please give the date like {example}.", example="2027-01-31"))]
        until = datetime.combine(day, time(0, 0), tzinfo=_zone(ctx)).astimezone(UTC)
        if until <= ctx.now():
            return [Text(ctx._("That time has passed. Please choose a time in the future."))]
        ctx.member.paused_until = until
        ctx.uow.members.save(ctx.member)
        shown = format_date(day, "medium", locale=ctx.lang)
        return [Text(ctx._("Paused until {date}: no new mentees and no coffee rounds until then.", date=shown))]
    if verb == "resume":
        ctx.member.paused_until = None
        ctx.uow.members.save(ctx.member)
        return [Text(ctx._("Welcome back: you can be matched again."))]
    return [Text(ctx._("Use {usage}.", usage="/mentor on, /mentor off, /mentor pause 2027-01-31, /mentor resume"))]


def mentee(ctx: Context, args: str) -> list[Reply]:
    """``/mentee on|off``."""
    assert ctx.member is not None
    verb = args.strip().lower()
    if verb == "on":
        ctx.member.is_mentee = True
        ctx.uow.members.save(ctx.member)
        return ctx.dialogs.start(ctx, PROFILE_DIALOG, step="partner")
    if verb == "off":
        ctx.member.is_mentee = False
        ctx.uow.members.save(ctx.member)
        return [Text(ctx._("You will not be matched with a mentor. Your current mentorship goes on (/mentorship)."))]
    return [Text(ctx._("Use {usage}.", usage="/mentee on, /mentee off"))]
