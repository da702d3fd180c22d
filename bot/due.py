"""What is due now: the one question the scheduler's recurring job asks the core.

Scheduled announcements are published; surveys open, remind and close; meetups remind and
send their follow-up surveys; due reminders are
queued in small chunks, each its own transaction, so a large batch never holds the database
(or the event loop) for long. Members not seen for the network's retention period are erased.
Dedupe keys and status changes make a rerun, or two overlapping runs, queue nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.announcements import Announcement, may_announce
from bot.broadcast import publish, queue_reminders
from bot.context import Services
from bot.meetups.due import MeetupDue, run_due_meetups
from bot.mentoring.coffee import follow_up as coffee_follow_up
from bot.mentoring.followups import FollowUps, run_due_followups
from bot.ports import UnitOfWork
from bot.privacy import run_retention
from bot.surveys.dispatch import SurveyDue, run_due_surveys

REMINDER_CHUNK = 200


@dataclass(frozen=True)
class DueReport:
    announcements: int
    reminders: int
    surveys: SurveyDue = field(default_factory=SurveyDue)
    meetups: MeetupDue = field(default_factory=MeetupDue)
    mentoring: FollowUps = field(default_factory=FollowUps)
    coffee_followups: int = 0
    forgotten: int = 0  # members erased by the retention rule

    def queued(self) -> dict[str, int]:
        """What this scan queued, by kind, leaving out the kinds with nothing (for the log)."""
        counts = {
            "announcements": self.announcements,
            "reminders": self.reminders,
            "surveys opened": self.surveys.opened,
            "survey reminders": self.surveys.reminded,
            "surveys closed": self.surveys.closed,
            "meetup reminders": self.meetups.reminded,
            "meetup follow-up surveys": self.meetups.followups,
            "mentoring check-ins": self.mentoring.checkins,
            "mentoring feedback requests": self.mentoring.feedback,
            "coffee follow-ups": self.coffee_followups,
        }
        return {kind: count for kind, count in counts.items() if count}


def _author_may_still(uow: UnitOfWork, announcement: Announcement) -> bool:
    author = uow.members.get(announcement.author_id) if announcement.author_id is not None else None
    if author is None or author.id is None:
        return False
    return may_announce(author, uow.members.roles(author.id), announcement.audience)


def run_due(services: Services, now: datetime) -> DueReport:
    published = 0
    while True:
        with services.uow_factory() as uow:
            due = uow.announcements.due(now, 1)
            if not due:
                break
            announcement = due[0]
            if _author_may_still(uow, announcement):
                publish(uow, services.network, services.catalogs, announcement, now)
                published += 1
            else:  # the author lost the role since scheduling it: it is not sent
                assert announcement.id is not None
                uow.announcements.cancel(announcement.id)
                details = {"announcement": announcement.id, "reason": "the author may no longer announce to it"}
                uow.audit.record(announcement.author_id, "announce.cancel", details, None, now)
            uow.commit()
    reminders = 0
    while True:
        with services.uow_factory() as uow:
            count = queue_reminders(uow, services.network, now, REMINDER_CHUNK)
            uow.commit()
        if count == 0:
            break
        reminders += count
    surveys = run_due_surveys(services.uow_factory, services.network, services.catalogs, now)
    meetups = run_due_meetups(services.uow_factory, services.network, services.catalogs, services.meetups, now)
    mentoring = run_due_followups(services.uow_factory, services.network, services.catalogs, now)
    with services.uow_factory() as uow:
        coffee = coffee_follow_up(uow, services.network, services.catalogs, now)
        uow.commit()
    forgotten = run_retention(services, now)
    return DueReport(
        announcements=published,
        reminders=reminders,
        surveys=surveys,
        meetups=meetups,
        mentoring=mentoring,
        coffee_followups=coffee,
        forgotten=forgotten,
    )
