"""Announcements: a coordinator's message, in one or more languages, to an audience."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.audience import Audience
from bot.members import Member, Role, RoleGrant


class AnnouncementStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


@dataclass
class Announcement:
    author_id: int | None
    texts: dict[str, str]  # language -> text; the first one is the original
    audience: Audience
    status: AnnouncementStatus
    created_at: datetime
    send_at: datetime | None = None
    recipients: int | None = None
    sent_at: datetime | None = None
    id: int | None = None

    @property
    def batch(self) -> str:
        return f"announce:{self.id}"

    def text_for(self, member_languages: list[str], default_language: str) -> str:
        """The member's variant: their first language that has one, else the network
        default, else the original."""
        for lang in [*member_languages, default_language]:
            if lang in self.texts:
                return self.texts[lang]
        return next(iter(self.texts.values()))


def may_announce(member: Member, grants: list[RoleGrant], audience: Audience) -> bool:
    """Admins announce to anyone; coordinators to the chapters they coordinate."""
    if member.has_role(grants, Role.ADMIN):
        return True
    return bool(audience.chapters) and all(member.has_role(grants, Role.COORDINATOR, c) for c in audience.chapters)
