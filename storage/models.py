"""The tables, as SQLAlchemy 2 typed declarative models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Chapter value of a role granted in the whole network: NULLs never collide in a UNIQUE
# constraint, so the column is NOT NULL and the domain's ``None`` is stored as ''.
NETWORK_WIDE = ""

# JSON everywhere; JSONB on PostgreSQL, which can be indexed and compared.
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time stored in UTC and always read back timezone-aware (UTC).

    PostgreSQL keeps it in ``timestamptz``; SQLite has no time zones, so it gets naive UTC.
    Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MemberRow(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    home_chapter: Mapped[str | None] = mapped_column(String(64), index=True)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    interests: Mapped[list[str]] = mapped_column(JSONType, default=list)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    bio: Mapped[str] = mapped_column(Text, default="")
    is_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    is_mentee: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    detected_language: Mapped[str | None] = mapped_column(String(16))
    announcements_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    announcement_dms: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    expertise: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    mentor_capacity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    learning: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    preferred_chapter: Mapped[str | None] = mapped_column(String(64))
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    coffee: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoleRow(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("member_id", "role", "chapter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    chapter: Mapped[str] = mapped_column(String(64), default=NETWORK_WIDE)
    source: Mapped[str] = mapped_column(String(16), default="", server_default="")


class DialogStateRow(Base):
    __tablename__ = "dialog_states"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dialog: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class LinkCodeRow(Base):
    __tablename__ = "link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    """A message to someone other than the current chat, queued in the transaction that
    caused it and sent later by the relay of its platform."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "platform", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    batch: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AnnouncementRow(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    texts: Mapped[dict[str, str]] = mapped_column(JSONType)
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), index=True)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    recipients: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReminderRow(Base):
    """A per-item deadline (a reminder, a nudge, a check-in) due at one moment; a recurring
    job queues the due ones, so there is no APScheduler job per item."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "sent", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    texts: Mapped[dict[str, str]] = mapped_column(JSONType)
    sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuditRow(Base):
    """Who did what, when, to how many: every coordinator action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    audience_size: Mapped[int | None] = mapped_column(Integer)


class SurveyRow(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    title: Mapped[dict[str, str]] = mapped_column(JSONType)
    intro: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders: Mapped[list[int]] = mapped_column(JSONType, default=list)  # seconds before closes_at
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    salt: Mapped[str | None] = mapped_column(String(64))
    invited: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyInviteRow(Base):
    __tablename__ = "survey_invites"
    __table_args__ = (Index("ix_survey_invites_turnout", "survey_id", "chapter"),)  # counted per chapter

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)
    chapter: Mapped[str | None] = mapped_column(String(64))


class SurveyResponseRow(Base):
    """One member's response. In an anonymous survey ``member_id`` stays NULL and ``token``
    is a one-way hash that only prevents a second response."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "token"),
        Index("ix_survey_responses_turnout", "survey_id", "chapter", "completed"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    chapter: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyAnswerRow(Base):
    """One answer, or one picked option of a multiple-choice answer. It carries what results
    are grouped by (survey, question, chapter), so they are counted from one index."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        Index("ix_survey_answers_tally", "survey_id", "question", "chapter", "value", "language"),
        Index("ix_survey_answers_latest", "survey_id", "question", "id"),
        Index("ix_survey_answers_response", "response_id", "question"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    question: Mapped[int] = mapped_column(Integer)
    chapter: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))


class MeetupRow(Base):
    __tablename__ = "meetups"
    __table_args__ = (Index("ix_meetups_upcoming", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    chapter: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(500), default="")
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType)
    capacity: Mapped[int | None] = mapped_column(Integer)
    rsvp_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    checkin_code: Mapped[str] = mapped_column(String(16), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    reminders_sent: Mapped[list[str]] = mapped_column(JSONType, default=list)
    followup_survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttendanceRow(Base):
    """A member's answer to a meetup; ``position`` orders the waitlist (arrival order)."""

    __tablename__ = "meetup_attendance"
    __table_args__ = (
        Index("ix_meetup_attendance_status", "meetup_id", "status", "position"),
        Index("ix_meetup_attendance_position", "meetup_id", "position"),
    )

    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16))
    guests: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    checked_in: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MentorshipRow(Base):
    """A mentor and a mentee, from the day they were matched until one of them ends it. Rows
    are kept after the end: a pair that existed is never proposed again."""

    __tablename__ = "mentorships"
    __table_args__ = (Index("ix_mentorships_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(default=0.0)
    reasons: Mapped[list[list[str]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[int | None] = mapped_column(Integer)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    checkin_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    met: Mapped[dict[str, bool]] = mapped_column(JSONType, default=dict)  # member id -> did they meet
    feedback: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)  # member id -> rating 1-5
    notes: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)  # member id -> feedback in words


class MatchRunRow(Base):
    """A matching computed by ``/match preview``, kept so that ``/match confirm`` creates
    exactly the pairs the coordinator saw."""

    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    proposals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    unmatched: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class CoffeeRoundRow(Base):
    """One coffee round: who was paired with whom (groups of two or three)."""

    __tablename__ = "coffee_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), index=True)  # a chapter code, or "*" for the network
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    groups: Mapped[list[list[int]]] = mapped_column(JSONType)
    followup_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    met: Mapped[dict[str, bool]] = mapped_column(JSONType, default=dict)  # member id -> said they met


class CoffeeScheduleRow(Base):
    """When a scope's coffee rounds run, as set by a coordinator (cron and time zone)."""

    __tablename__ = "coffee_schedules"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    cron: Mapped[str] = mapped_column(String(100))
    time_zone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
