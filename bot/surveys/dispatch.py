"""A survey's life in time: invitations when it opens, reminders to those who have not
finished, and the close. All of it goes through the outbox with dedupe keys, so a rerun, or
two overlapping due scans, never invites or reminds anyone twice."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.broadcast import announcement_target, default_zone, member_language
from bot.delivery import OutboxItem, Target, TargetKind
from bot.i18n import Catalogs, Translator
from bot.members import Member
from bot.network import Network
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.quiet_hours import next_allowed
from bot.replies import Button, Text
from bot.surveys.answering import ACTION_PREFIX
from bot.surveys.model import Survey, SurveyStatus, pick

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SurveyDue:
    opened: int = 0
    reminded: int = 0
    closed: int = 0


def _closes(_: Translator, survey: Survey, member: Member, network: Network, lang: str) -> str | None:
    if survey.closes_at is None:
        return None
    zone = member.time_zone or default_zone(member, network)
    try:
        local = survey.closes_at.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        local = survey.closes_at
    return _("It closes on {when}.", when=format_datetime(local, "medium", locale=lang))


def _message(
    catalogs: Catalogs, network: Network, survey: Survey, member: Member, *, reminder: bool
) -> tuple[Text, str]:
    lang = member_language(member, network)
    _ = catalogs.translator(lang)
    languages = [lang, *member.languages]
    name = pick(survey.title, languages, network.default_language)
    if reminder:
        lines = [_("⏰ Reminder: the survey “{title}” is waiting for your answers.", title=name)]
        label = _("Continue")
    else:
        lines = [_("📋 New survey: {title}", title=name)]
        if survey.intro:
            lines.append(pick(survey.intro, languages, network.default_language))
        label = _("Start")
    lines.append(_("{count} questions; you can stop and continue later.", count=len(survey.questions)))
    closes = _closes(_, survey, member, network, lang)
    if closes:
        lines.append(closes)
    if survey.anonymous:
        lines.append(_("It is anonymous: your answers are not linked to you."))
    start = Button(label, f"{ACTION_PREFIX}:start:{survey.id}")
    return Text("\n".join(lines), ((start,),)), lang


def open_survey(uow: UnitOfWork, network: Network, catalogs: Catalogs, survey: Survey, now: datetime) -> int:
    """Invite the audience (members who muted announcements are left out) and open it.

    Members on a platform where bots may not mass-DM (Discord) unless they opted in are
    invited all the same: the invitation with its Start button goes to their chapter's
    channel, and the button opens the survey in a private chat."""
    assert survey.id is not None
    if survey.anonymous and not survey.salt:
        survey.salt = secrets.token_hex(16)
    members = [m for m in survey.audience.members(uow) if m.id is not None and not m.announcements_muted]
    identities = uow.members.identities_of([m.id for m in members if m.id is not None])
    channels = _channel_platforms(survey, network)
    invited = 0
    for member in members:
        assert member.id is not None
        target = announcement_target(member, identities.get(member.id, []), network)
        on_channel = {i.platform for i in identities.get(member.id, [])} & channels.get(member.home_chapter, set())
        if target is None and not on_channel:
            continue  # nothing would tell them: not counted as invited
        if not uow.surveys.invite(survey.id, member.id, member.home_chapter):
            continue
        invited += 1
        if target is None:
            continue  # their chapter's channel carries the invitation
        reply, _lang = _message(catalogs, network, survey, member, reminder=False)
        uow.outbox.add(
            OutboxItem(
                dedupe_key=f"survey:{survey.id}:invite:m{member.id}",
                target=target,
                reply=reply,
                not_before=next_allowed(now, member, default_zone(member, network)),
                member_id=member.id,
                batch=f"survey:{survey.id}",
            )
        )
    _to_chapter_chats(uow, network, catalogs, survey, now)
    survey.status = SurveyStatus.OPEN
    survey.invited += invited
    uow.surveys.save(survey)
    return invited


def _channel_platforms(survey: Survey, network: Network) -> dict[str | None, set[str]]:
    """chapter -> platforms where the survey is posted in the chapter's group chat."""
    if survey.audience.filter != "all":
        return {}
    codes = survey.audience.chapters or tuple(c.code for c in network.chapters)
    found: dict[str | None, set[str]] = {}
    for chapter in (network.chapter(code) for code in codes):
        if chapter is not None:
            found[chapter.code] = {platform for platform, _chat in chapter.group_chats}
    return found


def _to_chapter_chats(uow: UnitOfWork, network: Network, catalogs: Catalogs, survey: Survey, now: datetime) -> None:
    """A survey for whole chapters is also posted in their group chats, with the Start button."""
    if survey.audience.filter != "all":
        return
    codes = survey.audience.chapters or tuple(c.code for c in network.chapters)
    for chapter in (network.chapter(code) for code in codes):
        if chapter is None or not chapter.group_chats:
            continue
        lang = next((lang for lang in chapter.languages if lang in survey.title), chapter.languages[0])
        _ = catalogs.translator(lang)
        name = pick(survey.title, list(chapter.languages), network.default_language)
        text = "\n".join(
            [
                _("📋 New survey for the members of {chapter}: {title}", chapter=chapter.name, title=name),
                _("Press Start to answer it in a private chat."),
            ]
        )
        start = Button(_("Start"), f"{ACTION_PREFIX}:start:{survey.id}")
        for platform, chat_id in chapter.group_chats:
            uow.outbox.add(
                OutboxItem(
                    dedupe_key=f"survey:{survey.id}:chat:{platform}:{chat_id}",
                    target=Target(platform, TargetKind.CHAT, chat_id),
                    reply=Text(text, ((start,),)),
                    not_before=now,
                    batch=f"survey:{survey.id}",
                )
            )


def remind(uow: UnitOfWork, network: Network, catalogs: Catalogs, survey: Survey, now: datetime) -> int:
    """Send the reminder round that is due, if any, to invitees who have not finished.
    Rounds missed while the bot was down collapse into one: nobody gets two at once."""
    assert survey.id is not None
    due = sum(1 for moment in survey.reminder_times() if moment <= now)
    if due <= survey.reminders_sent or not survey.is_open(now):
        return 0
    round_number = due
    survey.reminders_sent = due
    uow.surveys.save(survey)
    finished = uow.surveys.finished_tokens(survey.id)
    waiting = [m for m in uow.surveys.invitees(survey.id) if survey.token(m) not in finished]
    members = uow.members.get_many(waiting)
    identities = uow.members.identities_of(waiting)
    sent = 0
    for member_id in waiting:
        member = members.get(member_id)
        if member is None:
            continue
        target = announcement_target(member, identities.get(member_id, []), network)
        if target is None:
            continue
        reply, _lang = _message(catalogs, network, survey, member, reminder=True)
        sent += uow.outbox.add(
            OutboxItem(
                dedupe_key=f"survey:{survey.id}:remind{round_number}:m{member_id}",
                target=target,
                reply=reply,
                not_before=next_allowed(now, member, default_zone(member, network)),
                member_id=member_id,
                batch=f"survey:{survey.id}:remind",
            )
        )
    return sent


def close_survey(uow: UnitOfWork, survey: Survey) -> None:
    """No more answers; the anonymous tokens' salt is wiped, so none can be traced back."""
    survey.status = SurveyStatus.CLOSED
    survey.salt = None
    uow.surveys.save(survey)


def run_due_surveys(uow_factory: UnitOfWorkFactory, network: Network, catalogs: Catalogs, now: datetime) -> SurveyDue:
    """Open, remind and close what is due; one transaction per survey."""
    opened = reminded = closed = 0
    with uow_factory() as uow:
        ids = [s.id for s in uow.surveys.active() if s.id is not None]
    for survey_id in ids:
        try:
            with uow_factory() as uow:
                # Locked: a second scan running at the same time waits, then sees what this one did.
                survey = uow.surveys.get(survey_id, lock=True)
                if survey is None:
                    continue
                past_close = survey.closes_at is not None and survey.closes_at <= now
                if survey.status is not SurveyStatus.CLOSED and past_close:
                    close_survey(uow, survey)  # also one that never opened because the bot was down
                    closed += 1
                elif survey.status is SurveyStatus.SCHEDULED and (survey.opens_at is None or survey.opens_at <= now):
                    open_survey(uow, network, catalogs, survey, now)
                    opened += 1
                elif survey.status is SurveyStatus.OPEN:
                    reminded += remind(uow, network, catalogs, survey, now)
                uow.commit()
        except Exception:  # one broken survey must not hold up the others
            log.exception("the due scan could not handle survey %s", survey_id)
    return SurveyDue(opened=opened, reminded=reminded, closed=closed)
