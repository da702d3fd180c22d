"""What is due for meetups: reminders to those going (never twice, never after the start;
an edit of the time starts them afresh), and after a meetup the follow-up survey to those
who checked in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.audience import Audience
from bot.i18n import Catalogs
from bot.meetups.model import Meetup, MeetupPolicy, MeetupStatus, Rsvp
from bot.meetups.publish import tell_answered
from bot.network import Network
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.surveys.dispatch import open_survey
from bot.surveys.model import Survey, SurveyStatus

log = logging.getLogger(__name__)

#: The follow-up survey goes out this long after the end, and stays open this long.
FOLLOWUP_AFTER = timedelta(hours=1)
FOLLOWUP_OPEN = timedelta(days=7)
#: Meetups older than this get no follow-up any more (e.g. after a long outage).
FOLLOWUP_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class MeetupDue:
    reminded: int = 0
    followups: int = 0


def _reminder_key(offset: timedelta, meetup: Meetup) -> str:
    return f"{int(offset.total_seconds())}s@{meetup.starts_at.isoformat()}"


def remind(
    uow: UnitOfWork, network: Network, catalogs: Catalogs, meetup: Meetup, policy: MeetupPolicy, now: datetime
) -> int:
    if meetup.status is not MeetupStatus.PUBLISHED or now >= meetup.starts_at:
        return 0
    due = [o for o in policy.reminders if meetup.starts_at - o <= now]
    fresh = [o for o in due if _reminder_key(o, meetup) not in meetup.reminders_sent]
    if not fresh:
        return 0
    closest = min(due)  # reminders missed while the bot was down collapse into the latest one
    meetup.reminders_sent = [*meetup.reminders_sent, *(_reminder_key(o, meetup) for o in fresh)]
    uow.meetups.save(meetup)
    if _reminder_key(closest, meetup) not in {_reminder_key(o, meetup) for o in fresh}:
        return 0
    statuses = (Rsvp.GOING, Rsvp.MAYBE) if policy.remind_maybe else (Rsvp.GOING,)
    place = meetup.place
    return tell_answered(
        uow,
        network,
        catalogs,
        meetup,
        now,
        key=f"remind:{_reminder_key(closest, meetup)}",
        statuses=statuses,
        message=lambda _, lang, local: _(
            "⏰ Reminder: {title} starts on {when}. Place: {place}.", title=meetup.title, when=local, place=place
        ),
    )


def followup(
    uow: UnitOfWork, network: Network, catalogs: Catalogs, meetup: Meetup, template: Survey, now: datetime
) -> bool:
    """Send the follow-up survey to those who checked in; True if one was sent."""
    assert meetup.id is not None
    if meetup.followup_survey_id is not None or meetup.status is not MeetupStatus.PUBLISHED:
        return False
    if not meetup.ends_at + FOLLOWUP_AFTER <= now < meetup.ends_at + FOLLOWUP_WINDOW:
        return False
    if not uow.meetups.attended(meetup.id):
        return False
    survey = uow.surveys.add(
        Survey(
            title={lang: f"{meetup.title} · {title}" for lang, title in template.title.items()},
            intro=dict(template.intro),
            questions=template.questions,
            audience=Audience(chapters=(meetup.chapter,), filter=f"attended:{meetup.id}"),
            created_at=now,
            status=SurveyStatus.SCHEDULED,
            anonymous=template.anonymous,
            closes_at=now + FOLLOWUP_OPEN,
            reminders=(timedelta(days=2),),
            author_id=meetup.author_id,
        )
    )
    open_survey(uow, network, catalogs, survey, now)
    meetup.followup_survey_id = survey.id
    uow.meetups.save(meetup)
    return True


def _something_due(meetup: Meetup, policy: MeetupPolicy, now: datetime) -> bool:
    """Whether a meetup needs a reminder or its follow-up now (read without a lock; the
    locked re-read decides)."""
    if meetup.status is not MeetupStatus.PUBLISHED:
        return False
    if now < meetup.starts_at and any(
        meetup.starts_at - o <= now and _reminder_key(o, meetup) not in meetup.reminders_sent for o in policy.reminders
    ):
        return True
    return (
        meetup.followup_survey_id is None and meetup.ends_at + FOLLOWUP_AFTER <= now < meetup.ends_at + FOLLOWUP_WINDOW
    )


def run_due_meetups(
    uow_factory: UnitOfWorkFactory, network: Network, catalogs: Catalogs, policy: MeetupPolicy, now: datetime
) -> MeetupDue:
    reminded = followups = 0
    with uow_factory() as uow:
        recent = uow.meetups.upcoming(now - FOLLOWUP_WINDOW - timedelta(days=1), 5000)
        ids = [m.id for m in recent if m.id is not None and _something_due(m, policy, now)]
    for meetup_id in ids:
        try:
            with uow_factory() as uow:
                meetup = uow.meetups.get(meetup_id, lock=True)
                if meetup is None:
                    continue
                reminded += remind(uow, network, catalogs, meetup, policy, now)
                template = uow.surveys.template() or policy.followup
                if template is not None:
                    followups += followup(uow, network, catalogs, meetup, template, now)
                uow.commit()
        except Exception:  # one broken meetup must not hold up the others
            log.exception("the due scan could not handle meetup %s", meetup_id)
    return MeetupDue(reminded=reminded, followups=followups)
