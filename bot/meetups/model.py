"""A meetup and the members' answers to it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.audience import Audience
from bot.surveys.model import Survey


class MeetupStatus(enum.StrEnum):
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Rsvp(enum.StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NO = "no"  # can't go
    WAITLIST = "waitlist"  # wanted to go when it was full; promoted in order


@dataclass
class Meetup:
    title: str
    description: str
    chapter: str  # the chapter whose time zone it is in, and whose coordinators run it
    starts_at: datetime  # UTC
    duration: timedelta
    place: str  # an address or a link
    audience: Audience
    created_at: datetime
    capacity: int | None = None  # seats, guests included; None: no limit
    rsvp_deadline: datetime | None = None
    status: MeetupStatus = MeetupStatus.PUBLISHED
    author_id: int | None = None
    checkin_code: str = ""
    revision: int = 0  # bumped by each edit: the calendar file's SEQUENCE
    reminders_sent: list[str] = field(default_factory=list)  # reminder offsets done, e.g. "24h@<start>"
    followup_survey_id: int | None = None
    id: int | None = None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.duration

    def accepts_answers(self, now: datetime) -> bool:
        if self.status is not MeetupStatus.PUBLISHED or now >= self.starts_at:
            return False
        return self.rsvp_deadline is None or now < self.rsvp_deadline


@dataclass
class Attendance:
    """One member's answer to one meetup."""

    meetup_id: int
    member_id: int
    status: Rsvp
    guests: int = 0
    position: int = 0  # the order answers arrived in; the waitlist is served in this order
    checked_in: bool = False

    @property
    def seats(self) -> int:
        return 1 + self.guests


@dataclass(frozen=True)
class MeetupPolicy:
    """The network's meetup settings."""

    reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    remind_maybe: bool = False
    followup: Survey | None = None  # the follow-up survey's template; None: no follow-up
