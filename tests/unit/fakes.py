"""In-memory fakes of the core's ports, in the manner of cosmicpython's FakeUnitOfWork."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from bot.announcements import Announcement, AnnouncementStatus
from bot.delivery import OutboxItem
from bot.dialogs.state import DialogState
from bot.events import ChatRef
from bot.members import Identity, Member, Role, RoleGrant
from bot.ports import DueReminder, IdentityTaken
from bot.surveys.model import Survey, SurveyStatus


@dataclass
class FakeDatabase:
    """What a FakeUnitOfWork commits to; shared by every unit of work of one test."""

    members: dict[int, Member] = field(default_factory=dict)
    identities: dict[tuple[str, str], int] = field(default_factory=dict)
    roles: set[tuple[int, Role, str | None]] = field(default_factory=set)
    role_sources: dict[tuple[int, Role, str | None], str] = field(default_factory=dict)
    dialogs: dict[tuple[str, str], DialogState] = field(default_factory=dict)
    link_codes: dict[str, tuple[int, datetime, bool]] = field(default_factory=dict)
    unreachable: set[tuple[str, str]] = field(default_factory=set)
    outbox: dict[str, OutboxItem] = field(default_factory=dict)
    announcements: dict[int, Announcement] = field(default_factory=dict)
    reminders: dict[str, tuple[int, int, datetime, dict[str, str], bool]] = field(default_factory=dict)
    audit: list[tuple[int | None, str, dict[str, Any], int | None, datetime]] = field(default_factory=list)
    surveys: dict[int, Survey] = field(default_factory=dict)
    survey_invites: dict[tuple[int, int], str | None] = field(default_factory=dict)
    commits: int = 0


class FakeMembers:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def get(self, member_id: int) -> Member | None:
        return self.db.members.get(member_id)

    def get_many(self, member_ids: list[int]) -> dict[int, Member]:
        return {i: self.db.members[i] for i in member_ids if i in self.db.members}

    def by_identity(self, platform: str, user_id: str) -> Member | None:
        member_id = self.db.identities.get((platform, user_id))
        return self.db.members.get(member_id) if member_id is not None else None

    def add(self, member: Member) -> Member:
        member.id = max(self.db.members, default=0) + 1
        self.db.members[member.id] = member
        return member

    def save(self, member: Member) -> None:
        assert member.id is not None
        self.db.members[member.id] = member

    def touch(self, member_id: int, at: datetime) -> None:
        pass  # "last seen" matters to the retention rule, tested on real databases

    def list(self, chapter: str | None = None) -> list[Member]:
        return [m for _, m in sorted(self.db.members.items()) if chapter is None or m.home_chapter == chapter]

    def count(self) -> int:
        return len(self.db.members)

    def identities(self, member_id: int) -> list[Identity]:
        return [
            Identity(p, u, (p, u) in self.db.unreachable) for (p, u), m in self.db.identities.items() if m == member_id
        ]

    def identities_of(self, member_ids: list[int]) -> dict[int, list[Identity]]:
        return {member_id: self.identities(member_id) for member_id in member_ids}

    def mark_unreachable(self, platform: str, user_id: str) -> int | None:
        self.db.unreachable.add((platform, user_id))
        return self.db.identities.get((platform, user_id))

    def add_identity(self, member_id: int, platform: str, user_id: str) -> None:
        owner = self.db.identities.get((platform, user_id))
        if owner is not None and owner != member_id:
            raise IdentityTaken(f"{platform}:{user_id}")
        self.db.identities[(platform, user_id)] = member_id

    def roles(self, member_id: int) -> list[RoleGrant]:
        return [
            RoleGrant(r, c, self.db.role_sources.get((m, r, c), ""))
            for m, r, c in sorted(self.db.roles, key=str)
            if m == member_id
        ]

    def grant(self, member_id: int, role: Role, chapter: str | None, source: str = "") -> bool:
        key = (member_id, role, chapter)
        if key in self.db.roles:
            return False
        self.db.roles.add(key)
        if source:
            self.db.role_sources[key] = source
        return True

    def revoke(self, member_id: int, role: Role, chapter: str | None, source: str) -> bool:
        key = (member_id, role, chapter)
        if key not in self.db.roles or self.db.role_sources.get(key, "") != source:
            return False
        self.db.roles.discard(key)
        self.db.role_sources.pop(key, None)
        return True


class FakeDialogs:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def get(self, chat: ChatRef) -> DialogState | None:
        state = self.db.dialogs.get((chat.platform, chat.chat_id))
        return copy.deepcopy(state)

    def put(self, chat: ChatRef, state: DialogState) -> None:
        self.db.dialogs[(chat.platform, chat.chat_id)] = copy.deepcopy(state)

    def delete(self, chat: ChatRef) -> None:
        self.db.dialogs.pop((chat.platform, chat.chat_id), None)


class FakeLinkCodes:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, code_hash: str, member_id: int, expires_at: datetime) -> None:
        self.db.link_codes[code_hash] = (member_id, expires_at, False)

    def take(self, code_hash: str, now: datetime) -> int | None:
        entry = self.db.link_codes.get(code_hash)
        if entry is None or entry[2] or entry[1] <= now:
            return None
        self.db.link_codes[code_hash] = (entry[0], entry[1], True)
        return entry[0]


class FakeOutbox:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, item: OutboxItem) -> bool:
        if item.dedupe_key in self.db.outbox:
            return False
        self.db.outbox[item.dedupe_key] = item
        return True

    def withdraw(self, key_prefix: str) -> int:
        gone = [key for key in self.db.outbox if key.startswith(key_prefix)]
        for key in gone:
            del self.db.outbox[key]
        return len(gone)

    def report(self, batch: str) -> dict[tuple[str, str], int]:
        counts: Counter[tuple[str, str]] = Counter(
            (item.target.platform, "queued") for item in self.db.outbox.values() if item.batch == batch
        )
        return dict(counts)


class FakeAnnouncements:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, announcement: Announcement) -> Announcement:
        announcement.id = max(self.db.announcements, default=0) + 1
        self.db.announcements[announcement.id] = copy.deepcopy(announcement)
        return announcement

    def get(self, announcement_id: int) -> Announcement | None:
        return copy.deepcopy(self.db.announcements.get(announcement_id))

    def save(self, announcement: Announcement) -> None:
        assert announcement.id is not None
        self.db.announcements[announcement.id] = copy.deepcopy(announcement)

    def due(self, now: datetime, limit: int) -> list[Announcement]:
        due = [
            a for a in self.db.announcements.values()
            if a.status == AnnouncementStatus.SCHEDULED and a.send_at is not None and a.send_at <= now
        ]
        return copy.deepcopy(sorted(due, key=lambda a: (a.send_at, a.id))[:limit])

    def cancel(self, announcement_id: int) -> bool:
        found = self.db.announcements.get(announcement_id)
        if found is None or found.status is not AnnouncementStatus.SCHEDULED:
            return False
        found.status = AnnouncementStatus.CANCELLED
        return True

    def recent(self, author_id: int | None, limit: int) -> list[Announcement]:
        found = [a for a in self.db.announcements.values() if author_id is None or a.author_id == author_id]
        return copy.deepcopy(sorted(found, key=lambda a: -(a.id or 0))[:limit])


class FakeReminders:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, key: str, member_id: int, due_at: datetime, texts: dict[str, str]) -> bool:
        if key in self.db.reminders:
            return False
        self.db.reminders[key] = (len(self.db.reminders) + 1, member_id, due_at, dict(texts), False)
        return True

    def due(self, now: datetime, limit: int) -> list[DueReminder]:
        found = [
            DueReminder(rid, key, member_id, texts)
            for key, (rid, member_id, due_at, texts, sent) in self.db.reminders.items()
            if not sent and due_at <= now
        ]
        return sorted(found, key=lambda r: r.id)[:limit]

    def mark_sent(self, ids: list[int]) -> None:
        for key, (rid, member_id, due_at, texts, _sent) in list(self.db.reminders.items()):
            if rid in ids:
                self.db.reminders[key] = (rid, member_id, due_at, texts, True)


class FakeAudit:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def record(
        self, actor_id: int | None, action: str, details: dict[str, Any], audience_size: int | None, at: datetime
    ) -> None:
        self.db.audit.append((actor_id, action, details, audience_size, at))

    def recent(self, limit: int, before_id: int | None = None) -> list[Any]:
        raise NotImplementedError("the audit view is tested on real databases")


class FakeSurveys:
    """Surveys and invitations in memory. Responses, answers and results are exercised on
    real databases only (tests/e2e/test_surveys.py): their methods are absent here."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, survey: Survey) -> Survey:
        survey.id = max(self.db.surveys, default=0) + 1
        self.db.surveys[survey.id] = copy.deepcopy(survey)
        return survey

    def get(self, survey_id: int, *, lock: bool = False) -> Survey | None:
        return copy.deepcopy(self.db.surveys.get(survey_id))

    def save(self, survey: Survey) -> None:
        assert survey.id is not None
        self.db.surveys[survey.id] = copy.deepcopy(survey)

    def recent(self, limit: int) -> list[Survey]:
        return copy.deepcopy(sorted(self.db.surveys.values(), key=lambda s: -(s.id or 0))[:limit])

    def active(self) -> list[Survey]:
        found = [s for s in self.db.surveys.values() if s.status is not SurveyStatus.CLOSED]
        return copy.deepcopy(sorted(found, key=lambda s: s.id or 0))

    def template(self) -> Survey | None:
        found = [s for s in self.db.surveys.values() if s.status is SurveyStatus.TEMPLATE]
        return copy.deepcopy(max(found, key=lambda s: s.id or 0)) if found else None

    def invite(self, survey_id: int, member_id: int, chapter: str | None) -> bool:
        if (survey_id, member_id) in self.db.survey_invites:
            return False
        self.db.survey_invites[(survey_id, member_id)] = chapter
        return True

    def invitees(self, survey_id: int) -> list[int]:
        return sorted(m for s, m in self.db.survey_invites if s == survey_id)

    def is_invited(self, survey_id: int, member_id: int) -> bool:
        return (survey_id, member_id) in self.db.survey_invites

    def invited_surveys(self, member_id: int) -> list[int]:
        return sorted((s for s, m in self.db.survey_invites if m == member_id), reverse=True)


class FakeMeetups:
    """No meetups: they are exercised on real databases (tests/e2e/test_meetups.py)."""

    def upcoming(self, after: datetime, limit: int) -> list[Any]:
        return []


class FakeMentoring:
    """No mentorships or coffee rounds: they are exercised on real databases."""

    def active(self) -> list[Any]:
        return []

    def rounds_to_follow_up(self, before: datetime) -> list[Any]:
        return []


class FakeUnitOfWork:
    """Works on a private copy of the database; commit() publishes it, exit drops the rest."""

    def __init__(self, db: FakeDatabase) -> None:
        self.shared = db

    def __enter__(self) -> Self:
        self.work = copy.deepcopy(self.shared)
        self.members = FakeMembers(self.work)
        self.dialogs = FakeDialogs(self.work)
        self.link_codes = FakeLinkCodes(self.work)
        self.outbox = FakeOutbox(self.work)
        self.announcements = FakeAnnouncements(self.work)
        self.reminders = FakeReminders(self.work)
        self.audit = FakeAudit(self.work)
        self.surveys = FakeSurveys(self.work)
        self.meetups = FakeMeetups()
        self.mentoring = FakeMentoring()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.work = copy.deepcopy(self.shared)

    def commit(self) -> None:
        for name in (
            "members", "identities", "roles", "role_sources", "dialogs", "link_codes", "unreachable", "outbox",
            "announcements", "reminders", "audit", "surveys", "survey_invites",
        ):
            setattr(self.shared, name, copy.deepcopy(getattr(self.work, name)))
        self.shared.commits += 1

    def rollback(self) -> None:
        self.work = copy.deepcopy(self.shared)
