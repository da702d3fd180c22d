"""/profile: show a member's profile and edit any field of it."""

from __future__ import annotations

import dataclasses

from babel.dates import format_date

from bot.context import Context
from bot.dialogs.engine import Dialog
from bot.dialogs.state import DialogState
from bot.i18n import language_name
from bot.members import Member
from bot.mentoring.profile_steps import PROFILE_STEPS
from bot.profile_fields import mentoring_label, quiet_label
from bot.replies import Button, Reply, Text, rows

DIALOG = "profile"
ACTION_PREFIX = "p"
MUTE = "mute"
DMS = "dms"


def profile_card(ctx: Context, member: Member) -> Text:
    """The member's profile in the reader's language, with a button per editable field."""
    chapter = ctx.network.chapter(member.home_chapter)
    none = ctx._("not set")
    lines = [
        f"👤 {member.display_name}",
        ctx._("Home chapter: {value}", value=chapter.name if chapter else none),
        ctx._("Languages: {value}", value=", ".join(language_name(c) for c in member.languages) or none),
        ctx._("Interests: {value}", value=", ".join(member.interests) or none),
        ctx._("Time zone: {value}", value=member.time_zone or none),
        ctx._("Mentoring: {value}", value=mentoring_label(ctx, member.is_mentor, member.is_mentee)),
        *_mentoring_lines(ctx, member),
        ctx._("About me: {value}", value=member.bio or none),
        ctx._(
            "Reply language: {value}",
            value=language_name(member.preferred_language) if member.preferred_language else none,
        ),
        ctx._(
            "Announcements: {value}",
            value=ctx._("muted") if member.announcements_muted else ctx._("on"),
        ),
        ctx._("Quiet hours: {value}", value=quiet_label(ctx, member.quiet_start, member.quiet_end)),
        ctx._("Member since: {value}", value=format_date(member.consent_at, "medium", locale=ctx.lang)),
    ]
    labels = {
        "name": ctx._("Name"),
        "chapter": ctx._("Home chapter"),
        "languages": ctx._("Languages"),
        "interests": ctx._("Interests"),
        "timezone": ctx._("Time zone"),
        "mentoring": ctx._("Mentoring"),
        "bio": ctx._("About me"),
        "quiet": ctx._("Quiet hours"),
    }
    buttons = [Button(f"✏️ {label}", f"{ACTION_PREFIX}:{field}") for field, label in labels.items()]
    reply_language = ctx._("Reply language")
    buttons.append(Button(f"🌐 {reply_language}", "lang:menu"))
    mute = ctx._("Unmute announcements") if member.announcements_muted else ctx._("Mute announcements")
    mute_to = "off" if member.announcements_muted else "on"
    buttons.append(
        Button(f"🔔 {mute}" if member.announcements_muted else f"🔕 {mute}", f"{ACTION_PREFIX}:{MUTE}:{mute_to}")
    )
    opt_in = _opt_in_platforms(ctx, member)
    if opt_in:
        dms = ctx._("No announcements by DM") if member.announcement_dms else ctx._("Announcements by DM")
        buttons.append(Button(f"📬 {dms}", f"{ACTION_PREFIX}:{DMS}:{'off' if member.announcement_dms else 'on'}"))
        lines.insert(
            -1,
            ctx._(
                "Announcements by direct message on {platforms}: {value}",
                platforms=", ".join(p.capitalize() for p in opt_in),
                value=ctx._("yes") if member.announcement_dms else ctx._("no, in the chapter channel"),
            ),
        )
    return Text("\n".join(lines), rows(*buttons))


def _mentoring_lines(ctx: Context, member: Member) -> list[str]:
    lines = []
    if member.is_mentor:
        lines.append(ctx._("Can help with: {value}", value=", ".join(member.expertise) or ctx._("not set")))
        lines.append(ctx._("Mentees at a time: {value}", value=member.mentor_capacity))
    if member.is_mentee and member.preferred_chapter:
        chapter = ctx.network.chapter(member.preferred_chapter)
        lines.append(
            ctx._("Preferred partner city: {value}", value=chapter.name if chapter else member.preferred_chapter)
        )
    if member.learning:
        lines.append(ctx._("Learning: {value}", value=", ".join(language_name(c) for c in member.learning)))
    if member.paused_until is not None and member.paused_until > ctx.now():
        paused = format_date(member.paused_until, "medium", locale=ctx.lang)
        lines.append(ctx._("Mentoring paused until {date}", date=paused))
    return lines


def _opt_in_platforms(ctx: Context, member: Member) -> list[str]:
    if member.id is None or not ctx.network.dm_opt_in:
        return []
    used = {i.platform for i in ctx.uow.members.identities(member.id)}
    return [p for p in ctx.network.dm_opt_in if p in used]


def show_profile(ctx: Context) -> list[Reply]:
    if ctx.member is None:
        return [Text(ctx._("You are not a member yet. Send /start to join."))]
    return [profile_card(ctx, ctx.member)]


def _after_edit(ctx: Context, state: DialogState) -> list[Reply]:
    if ctx.member is None:
        return []
    return [Text(ctx._("Saved.")), profile_card(ctx, ctx.member)]


# The edit dialog has no order: it runs the one field step it was started at, then finishes.
EDIT_DIALOG = Dialog(name=DIALOG, steps=PROFILE_STEPS, order=(), on_finish=_after_edit)


def edit_field(ctx: Context, value: str) -> list[Reply] | None:
    """Start editing a field, or set a switch (``mute:on``); None if there is no such field.
    A switch's button carries the value it sets, so pressing it twice changes nothing."""
    field, _, setting = value.partition(":")
    if field not in PROFILE_STEPS and field not in (MUTE, DMS):
        return None
    if ctx.member is None:
        return [Text(ctx._("You are not a member yet. Send /start to join."))]
    if field in (MUTE, DMS):
        if setting not in ("on", "off"):
            return None
        attribute = "announcements_muted" if field == MUTE else "announcement_dms"
        setattr(ctx.member, attribute, setting == "on")
        ctx.uow.members.save(ctx.member)
        return [dataclasses.replace(profile_card(ctx, ctx.member), replace=True)]
    return ctx.dialogs.start(ctx, DIALOG, step=field)
