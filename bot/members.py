"""The member: one person across every platform, with a profile and roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Role(enum.StrEnum):
    MEMBER = "member"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


@dataclass(frozen=True)
class RoleGrant:
    """A role, in one chapter or (``chapter is None``) in the whole network."""

    role: Role
    chapter: str | None = None
    source: str = ""  # "" when an operator or admin granted it; a platform when synced from there


@dataclass(frozen=True)
class Identity:
    """One account on one platform that belongs to a member."""

    platform: str
    user_id: str
    unreachable: bool = False


@dataclass
class Member:
    display_name: str
    consent_at: datetime
    home_chapter: str | None = None
    languages: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    time_zone: str | None = None
    bio: str = ""
    is_mentor: bool = False
    is_mentee: bool = False
    preferred_language: str | None = None
    detected_language: str | None = None
    announcements_muted: bool = False
    quiet_start: int | None = None  # local hour when quiet hours begin (0-23)
    quiet_end: int | None = None  # local hour when they end
    announcement_dms: bool = False  # opted in to announcements by DM where a platform needs it (Discord)
    # Mentoring: a mentor's expertise tags and how many mentees at once (1-5); the languages
    # a member is learning (for language-exchange pairs); a mentee's preferred partner city;
    # a pause (no new mentees, no coffee pairing) until a date; coffee rounds opt-in.
    expertise: list[str] = field(default_factory=list)
    mentor_capacity: int = 1
    learning: list[str] = field(default_factory=list)
    preferred_chapter: str | None = None
    paused_until: datetime | None = None
    coffee: bool = False
    id: int | None = None

    def has_role(self, grants: list[RoleGrant], role: Role, chapter: str | None = None) -> bool:
        """True if ``grants`` give ``role`` (or admin) in ``chapter`` or network-wide."""
        for grant in grants:
            if grant.role is Role.ADMIN and grant.chapter is None:
                return True
            if grant.role is role and (grant.chapter is None or chapter is None or grant.chapter == chapter):
                return True
        return False
