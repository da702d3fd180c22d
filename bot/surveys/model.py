"""A satisfaction survey: questions (with per-language texts), an audience, a time window."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.audience import Audience

#: The longest free-text answer kept (longer ones are refused with a message).
MAX_TEXT_ANSWER = 1000
MAX_QUESTIONS = 30
MAX_OPTIONS = 10


class Kind(enum.StrEnum):
    RATING = "rating"  # 1-5
    NPS = "nps"  # 0-10
    SINGLE = "single"  # one of the options
    MULTI = "multi"  # any of the options
    TEXT = "text"  # free text

    @property
    def scale(self) -> range:
        """The values a scale question takes (empty for the others)."""
        return {Kind.RATING: range(1, 6), Kind.NPS: range(0, 11)}.get(self, range(0))


class SurveyStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # invitations go out at ``opens_at``
    OPEN = "open"
    CLOSED = "closed"
    TEMPLATE = "template"  # never sent itself: the meetup follow-up survey is made from it


def pick(texts: dict[str, str], languages: list[str], default_language: str) -> str:
    """The variant in the first of ``languages`` that has one, else the default, else any."""
    for lang in [*languages, default_language]:
        if lang in texts:
            return texts[lang]
    return next(iter(texts.values()), "")


@dataclass(frozen=True)
class Question:
    kind: Kind
    texts: dict[str, str]  # language -> question text
    options: tuple[dict[str, str], ...] = ()  # for single/multi: each option's label per language
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "texts": dict(self.texts),
            "options": [dict(o) for o in self.options],
            "required": self.required,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(
            kind=Kind(data["kind"]),
            texts=dict(data["texts"]),
            options=tuple(dict(o) for o in data.get("options", ())),
            required=bool(data.get("required", True)),
        )

    def valid_values(self) -> range:
        """Stored integer values: the scale, or option indexes for choices."""
        if self.kind in (Kind.SINGLE, Kind.MULTI):
            return range(len(self.options))
        return self.kind.scale


@dataclass
class Survey:
    title: dict[str, str]  # language -> title
    questions: tuple[Question, ...]
    audience: Audience
    created_at: datetime
    status: SurveyStatus = SurveyStatus.SCHEDULED
    anonymous: bool = False
    opens_at: datetime | None = None  # None: as soon as it is created
    closes_at: datetime | None = None  # None: open until closed by hand
    #: Reminders to those who have not finished, this long before the close; one each at most.
    reminders: tuple[timedelta, ...] = ()
    reminders_sent: int = 0  # rounds already sent
    author_id: int | None = None
    intro: dict[str, str] = field(default_factory=dict)  # optional text shown in the invitation
    #: Mixed into anonymous response tokens while the survey is open; wiped when it closes,
    #: after which no token can be traced back to a member.
    salt: str | None = None
    invited: int = 0
    id: int | None = None

    def is_open(self, now: datetime) -> bool:
        if self.status is not SurveyStatus.OPEN:
            return False
        return self.closes_at is None or now < self.closes_at

    def token(self, member_id: int) -> str:
        """The response key of a member: plain for named surveys, a one-way hash otherwise."""
        if not self.anonymous:
            return f"m{member_id}"
        if not self.salt:
            raise ValueError("an anonymous survey takes no answers once closed")
        return hashlib.sha256(f"{self.salt}:{self.id}:{member_id}".encode()).hexdigest()

    def reminder_times(self) -> list[datetime]:
        """When each reminder round is due, earliest first (none without a close time)."""
        if self.closes_at is None:
            return []
        return sorted(self.closes_at - offset for offset in self.reminders)


@dataclass
class Response:
    """One member's answers to one survey; ``member_id`` is None when the survey is anonymous."""

    survey_id: int
    token: str
    chapter: str | None
    position: int = 0  # the next question to ask
    member_id: int | None = None
    completed: bool = False
    id: int | None = None


@dataclass(frozen=True)
class Answer:
    """What one response said to one question: option indexes or a scale value in
    ``values``, or a free ``text`` with its detected language."""

    values: tuple[int, ...] = ()
    text: str | None = None
    language: str | None = None
    multiple: bool = False  # an answer to a multiple-choice question (it may pick none)
