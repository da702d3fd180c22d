"""Fan an announcement or a reminder out to members: one outbox row per member, in their
language, on a platform where they can be reached, after their quiet hours."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.announcements import Announcement, AnnouncementStatus
from bot.delivery import OutboxItem, Target, TargetKind
from bot.i18n import Catalogs
from bot.members import Identity, Member
from bot.network import Network
from bot.ports import UnitOfWork
from bot.quiet_hours import next_allowed
from bot.replies import Text


@dataclass(frozen=True)
class FanOut:
    queued: int
    muted: int
    unreachable: int
    chats: int = 0  # chapter group chats and channels


def reachable_target(identities: list[Identity], skip: tuple[str, ...] = ()) -> Target | None:
    """The member's first identity that the platform has not refused, on a platform not in
    ``skip``."""
    for identity in identities:
        if not identity.unreachable and identity.platform not in skip:
            return Target(identity.platform, TargetKind.USER, identity.user_id)
    return None


def announcement_target(member: Member, identities: list[Identity], network: Network) -> Target | None:
    """Where a message sent to many (an announcement, an invitation) reaches ``member``: as
    ``reachable_target``, leaving out the platforms where such messages come by DM only to
    those who asked for them (``network.dm_opt_in``)."""
    return reachable_target(identities, () if member.announcement_dms else network.dm_opt_in)


@dataclass(frozen=True)
class Recipient:
    member: Member
    target: Target
    lang: str


def direct_recipients(uow: UnitOfWork, network: Network, member_ids: Iterable[int]) -> dict[int, Recipient]:
    """The members among ``member_ids`` who can be written to directly, by id: where, and in
    which language. Those unknown or unreachable are left out."""
    ids = list(dict.fromkeys(member_ids))
    members = uow.members.get_many(ids)
    identities = uow.members.identities_of(ids)
    found = {}
    for member_id in ids:
        member = members.get(member_id)
        target = reachable_target(identities.get(member_id, []))
        if member is not None and target is not None:
            found[member_id] = Recipient(member, target, member_language(member, network))
    return found


def member_language(member: Member, network: Network) -> str:
    for lang in [member.preferred_language, member.detected_language, *member.languages]:
        if lang in network.languages:
            return str(lang)
    return network.default_language


def default_zone(member: Member, network: Network) -> str:
    chapter = network.chapter(member.home_chapter)
    return chapter.time_zone if chapter else "UTC"


def publish(uow: UnitOfWork, network: Network, catalogs: Catalogs, announcement: Announcement, now: datetime) -> FanOut:
    """Queue the announcement for its whole audience and mark it sent (same transaction)."""
    assert announcement.id is not None
    members = [m for m in announcement.audience.members(uow) if m.id is not None]
    identities = uow.members.identities_of([m.id for m in members if m.id is not None])
    author = uow.members.get(announcement.author_id) if announcement.author_id else None
    queued = muted = unreachable = 0
    for member in members:
        assert member.id is not None
        if member.announcements_muted:
            muted += 1
            continue
        target = announcement_target(member, identities.get(member.id, []), network)
        if target is None:
            unreachable += 1
            continue
        lang = member_language(member, network)
        _ = catalogs.translator(lang)
        header = _("📣 Announcement from {name}:", name=author.display_name) if author else _("📣 Announcement:")
        body = announcement.text_for([lang, *member.languages], network.default_language)
        item = OutboxItem(
            dedupe_key=f"{announcement.batch}:m{member.id}",
            target=target,
            reply=Text(f"{header}\n\n{body}"),
            not_before=next_allowed(now, member, default_zone(member, network)),
            member_id=member.id,
            batch=announcement.batch,
        )
        if uow.outbox.add(item):
            queued += 1
    chats = _to_chapter_chats(uow, network, catalogs, announcement, author, now)
    announcement.status = AnnouncementStatus.SENT
    announcement.sent_at = now
    announcement.recipients = queued
    uow.announcements.save(announcement)
    return FanOut(queued=queued, muted=muted, unreachable=unreachable, chats=chats)


def _to_chapter_chats(
    uow: UnitOfWork,
    network: Network,
    catalogs: Catalogs,
    announcement: Announcement,
    author: Member | None,
    now: datetime,
) -> int:
    """An announcement to a whole chapter also goes to the chapter's group chats, once each,
    in the chapter's first language that has a text."""
    if announcement.audience.filter != "all":
        return 0
    codes = announcement.audience.chapters or tuple(c.code for c in network.chapters)
    queued = 0
    for chapter in (network.chapter(code) for code in codes):
        if chapter is None:
            continue
        lang = next((lang for lang in chapter.languages if lang in announcement.texts), chapter.languages[0])
        _ = catalogs.translator(lang)
        header = _("📣 Announcement from {name}:", name=author.display_name) if author else _("📣 Announcement:")
        body = announcement.text_for(list(chapter.languages), network.default_language)
        for platform, chat_id in chapter.group_chats:
            item = OutboxItem(
                dedupe_key=f"{announcement.batch}:chat:{platform}:{chat_id}",
                target=Target(platform, TargetKind.CHAT, chat_id),
                reply=Text(f"{header}\n\n{body}"),
                not_before=now,
                batch=announcement.batch,
            )
            queued += uow.outbox.add(item)
    return queued


def queue_reminders(uow: UnitOfWork, network: Network, now: datetime, limit: int) -> int:
    """Queue up to ``limit`` due reminders; returns how many were due (0 when none are left)."""
    due = uow.reminders.due(now, limit)
    if not due:
        return 0
    reach = direct_recipients(uow, network, (r.member_id for r in due))
    for reminder in due:
        recipient = reach.get(reminder.member_id)
        if recipient is None:
            continue
        member, texts = recipient.member, reminder.texts
        text = texts.get(recipient.lang) or texts.get(network.default_language) or next(iter(texts.values()))
        uow.outbox.add(
            OutboxItem(
                dedupe_key=f"remind:{reminder.key}",
                target=recipient.target,
                reply=Text(text),
                not_before=next_allowed(now, member, default_zone(member, network)),
                member_id=member.id,
                batch="reminders",
            )
        )
    uow.reminders.mark_sent([r.id for r in due])
    return len(due)
