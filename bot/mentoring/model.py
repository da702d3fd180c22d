"""Mentorships, matching runs and coffee rounds as the core sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class MentorshipStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


@dataclass
class Mentorship:
    mentor_id: int
    mentee_id: int
    created_at: datetime
    status: MentorshipStatus = MentorshipStatus.ACTIVE
    score: float = 0.0
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (code, detail), biggest first
    ended_at: datetime | None = None
    ended_by: int | None = None
    end_reason: str | None = None  # "ended", "rematch"
    checkin_sent: bool = False  # "did you meet?" asked
    feedback_sent: bool = False  # feedback asked
    met: dict[str, bool] = field(default_factory=dict)  # member id (str) -> said they met
    feedback: dict[str, int] = field(default_factory=dict)  # member id (str) -> rating 1-5
    notes: dict[str, str] = field(default_factory=dict)  # member id (str) -> their feedback in words
    id: int | None = None

    def other(self, member_id: int) -> int:
        return self.mentee_id if member_id == self.mentor_id else self.mentor_id

    def involves(self, member_id: int) -> bool:
        return member_id in (self.mentor_id, self.mentee_id)


@dataclass
class MatchRun:
    """A matching shown to a coordinator; ``proposals`` are dicts with mentee, mentor, score
    and reasons; ``unmatched`` dicts with mentee and reason."""

    author_id: int | None
    created_at: datetime
    proposals: list[dict[str, object]]
    unmatched: list[dict[str, object]]
    confirmed: bool = False
    id: int | None = None


@dataclass
class CoffeeRound:
    scope: str  # a chapter code, or "*" for the whole network
    created_at: datetime
    groups: list[list[int]]  # member ids, two or three per group
    followup_sent: bool = False
    met: dict[str, bool] = field(default_factory=dict)  # member id (str) -> said they met
    id: int | None = None
