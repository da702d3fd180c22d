"""Introductions: each side of a new pair (or coffee group) hears, in their own language, who
the other is, why they were matched, how to reach them and a first step."""

from __future__ import annotations

from datetime import datetime

from bot.broadcast import default_zone, member_language, reachable_target
from bot.delivery import OutboxItem
from bot.i18n import Catalogs, Translator, language_name
from bot.members import Identity, Member
from bot.mentoring.model import Mentorship
from bot.network import Network
from bot.ports import UnitOfWork
from bot.quiet_hours import next_allowed
from bot.replies import Button, Text


def reason_text(_: Translator, network: Network, reason: tuple[str, str]) -> str:
    code, detail = reason
    if code == "interests":
        return _("shared interests: {topics}", topics=detail)
    if code in ("partner_city", "preferred_city"):
        chapter = network.chapter(detail)
        return _("a partner city: {city}", city=chapter.name if chapter else detail)
    if code == "waking_hours":
        return _("{hours} waking hours in common", hours=detail)
    if code == "language_exchange":
        pair = " ↔ ".join(language_name(part.strip()) for part in detail.split("↔") if part.strip())
        return _("a language exchange ({languages})", languages=pair or detail)
    if code == "shared_language":
        names = ", ".join(language_name(code.strip()) for code in detail.split(",") if code.strip())
        return _("a language in common: {languages}", languages=names or detail)
    return detail or code


def contact(identities: list[Identity], member: Member) -> str:
    """How to reach a member: a link or handle per platform they use."""
    ways = []
    for identity in identities:
        if identity.platform == "telegram":
            ways.append(f"Telegram: tg://user?id={identity.user_id}")
        elif identity.platform == "discord":
            ways.append(f"Discord: <@{identity.user_id}>")
        else:
            ways.append(f"{identity.platform}: {member.display_name}")
    return ", ".join(ways) or member.display_name


def describe(_: Translator, network: Network, member: Member) -> str:
    chapter = network.chapter(member.home_chapter)
    languages = ", ".join(language_name(code) for code in member.languages)
    where = chapter.name if chapter else "—"
    return _("{name} from {city}, speaks {languages}", name=member.display_name, city=where, languages=languages)


def send(
    uow: UnitOfWork,
    network: Network,
    member: Member,
    key: str,
    text: str,
    now: datetime,
    buttons: tuple[tuple[Button, ...], ...] = (),
) -> bool:
    target = reachable_target(uow.members.identities(member.id)) if member.id is not None else None
    if target is None:
        return False
    item = OutboxItem(
        dedupe_key=key,
        target=target,
        reply=Text(text, buttons),
        not_before=next_allowed(now, member, default_zone(member, network)),
        member_id=member.id,
        batch="mentoring",
    )
    return uow.outbox.add(item)


def introduce(uow: UnitOfWork, network: Network, catalogs: Catalogs, mentorship: Mentorship, now: datetime) -> int:
    """Queue the introduction to both sides; returns how many were queued."""
    people = uow.members.get_many([mentorship.mentor_id, mentorship.mentee_id])
    mentor, mentee = people.get(mentorship.mentor_id), people.get(mentorship.mentee_id)
    if mentor is None or mentee is None:
        return 0
    queued = 0
    for me, other, role in ((mentee, mentor, "mentor"), (mentor, mentee, "mentee")):
        lang = member_language(me, network)
        _ = catalogs.translator(lang)
        headline = (
            _("🤝 Meet your mentor: {who}.", who=describe(_, network, other))
            if role == "mentor"
            else _("🤝 Meet your new mentee: {who}.", who=describe(_, network, other))
        )
        why = "; ".join(reason_text(_, network, r) for r in mentorship.reasons[:3])
        lines = [headline]
        if why:
            lines.append(_("Why we matched you: {reasons}.", reasons=why))
        if other.bio:
            lines.append(_("About them: {bio}", bio=other.bio))
        assert other.id is not None
        lines.append(_("Reach them: {contact}", contact=contact(uow.members.identities(other.id), other)))
        lines.append(_("A first step: say hello this week and agree on a 30-minute call in a language you share."))
        queued += send(uow, network, me, f"mentorship:{mentorship.id}:intro:m{me.id}", "\n".join(lines), now)
    return queued
