"""Telling people about a meetup through the outbox: the announcement with RSVP buttons (to
members who have not muted announcements, and the chapters' group chats), and later what
changed, to everyone who answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.broadcast import announcement_target, default_zone, direct_recipients, member_language
from bot.delivery import OutboxItem, Target, TargetKind
from bot.i18n import Catalogs, Translator
from bot.meetups.cards import card, when, zone_of
from bot.meetups.model import Meetup, Rsvp
from bot.members import Member
from bot.network import Network
from bot.ports import UnitOfWork
from bot.quiet_hours import next_allowed
from bot.replies import Text


def _item(
    key: str, member: Member, target: Target, reply: Text, network: Network, now: datetime, batch: str
) -> OutboxItem:
    return OutboxItem(
        dedupe_key=key,
        target=target,
        reply=reply,
        not_before=next_allowed(now, member, default_zone(member, network)),
        member_id=member.id,
        batch=batch,
    )


def _in_time(item: OutboxItem, meetup: Meetup) -> bool:
    """A message held by quiet hours until after the start is not worth sending."""
    return item.not_before < meetup.starts_at


def meetup_batch(meetup: Meetup) -> str:
    return f"meetup:{meetup.id}"


def announce(uow: UnitOfWork, network: Network, catalogs: Catalogs, meetup: Meetup, now: datetime) -> int:
    """Queue the announcement for the audience; returns how many members it goes to."""
    assert meetup.id is not None
    members = [m for m in meetup.audience.members(uow) if m.id is not None and not m.announcements_muted]
    identities = uow.members.identities_of([m.id for m in members if m.id is not None])
    queued = 0
    for member in members:
        assert member.id is not None
        target = announcement_target(member, identities.get(member.id, []), network)
        if target is None:
            continue
        lang = member_language(member, network)
        _ = catalogs.translator(lang)
        shown = card(_, lang, network, meetup, member, None, going=0, personal=False)
        reply = Text(_("New meetup!") + "\n" + shown.text, shown.buttons)
        key = f"meetup:{meetup.id}:announce:m{member.id}"
        queued += uow.outbox.add(_item(key, member, target, reply, network, now, f"meetup:{meetup.id}"))
    _to_chapter_chats(uow, network, catalogs, meetup, now)
    return queued


def _to_chapter_chats(uow: UnitOfWork, network: Network, catalogs: Catalogs, meetup: Meetup, now: datetime) -> None:
    codes = meetup.audience.chapters or tuple(c.code for c in network.chapters)
    for chapter in (network.chapter(code) for code in codes):
        if chapter is None:
            continue
        lang = chapter.languages[0]
        _ = catalogs.translator(lang)
        shown = card(_, lang, network, meetup, None, None, going=0, personal=False, zone=chapter.time_zone)
        text = _("New meetup!") + "\n" + shown.text
        for platform, chat_id in chapter.group_chats:
            uow.outbox.add(
                OutboxItem(
                    dedupe_key=f"meetup:{meetup.id}:chat:{platform}:{chat_id}",
                    target=Target(platform, TargetKind.CHAT, chat_id),
                    reply=Text(text, shown.buttons),
                    not_before=now,
                    batch=f"meetup:{meetup.id}",
                )
            )


def tell_answered(
    uow: UnitOfWork,
    network: Network,
    catalogs: Catalogs,
    meetup: Meetup,
    now: datetime,
    *,
    key: str,
    message: Callable[[Translator, str, str], str],
    statuses: tuple[Rsvp, ...] = (Rsvp.GOING, Rsvp.MAYBE, Rsvp.WAITLIST),
) -> int:
    """Queue ``message(_, lang, local time)`` to every member whose answer is in ``statuses``,
    once per ``key`` (an edit's revision, a reminder's offset)."""
    assert meetup.id is not None
    answered = [a for a in uow.meetups.attendances(meetup.id) if a.status in statuses]
    reach = direct_recipients(uow, network, (a.member_id for a in answered))
    queued = 0
    for attendance in answered:
        recipient = reach.get(attendance.member_id)
        if recipient is None:
            continue
        member, target, lang = recipient.member, recipient.target, recipient.lang
        _ = catalogs.translator(lang)
        text = message(_, lang, when(meetup.starts_at, zone_of(member, network, meetup), lang))
        shown = card(_, lang, network, meetup, member, attendance, going=0, personal=False)
        reply = Text(text, shown.buttons)
        item = _item(
            f"meetup:{meetup.id}:{key}:m{member.id}", member, target, reply, network, now, meetup_batch(meetup)
        )
        if key != "cancel" and not _in_time(item, meetup):
            continue
        queued += uow.outbox.add(item)
    return queued
