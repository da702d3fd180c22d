"""The interfaces the core needs from the outside world; storage/ implements them."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.announcements import Announcement
from bot.delivery import OutboxItem
from bot.dialogs.state import DialogState
from bot.events import ChatRef
from bot.meetups.model import Attendance, Meetup
from bot.members import Identity, Member, Role, RoleGrant
from bot.mentoring.model import CoffeeRound, MatchRun, Mentorship
from bot.surveys.model import Answer, Response, Survey
from bot.surveys.results import Tally, Turnout

JSONDict = dict[str, Any]


class MemberRepository(Protocol):
    def get(self, member_id: int) -> Member | None: ...

    def get_many(self, member_ids: builtins.list[int]) -> dict[int, Member]: ...

    def by_identity(self, platform: str, user_id: str) -> Member | None: ...

    def add(self, member: Member) -> Member:
        """Insert a new member; sets and returns it with ``id`` filled in."""
        ...

    def save(self, member: Member) -> None:
        """Write the member's changed fields back."""
        ...

    def list(self, chapter: str | None = None) -> list[Member]:
        """Every member, or those whose home chapter is ``chapter``; ordered by id."""
        ...

    def count(self) -> int: ...

    def identities(self, member_id: int) -> builtins.list[Identity]: ...

    def identities_of(self, member_ids: builtins.list[int]) -> dict[int, builtins.list[Identity]]:
        """The identities of many members at once, each member's in the order they were added."""
        ...

    def mark_unreachable(self, platform: str, user_id: str) -> int | None:
        """Flag an identity the platform says we cannot reach; returns its member id."""
        ...

    def add_identity(self, member_id: int, platform: str, user_id: str) -> None:
        """Attach a platform account; raises ``IdentityTaken`` if it belongs to someone else."""
        ...

    def roles(self, member_id: int) -> builtins.list[RoleGrant]: ...

    def grant(self, member_id: int, role: Role, chapter: str | None, source: str = "") -> bool:
        """Give a role; returns False if the member had it already (from any source)."""
        ...

    def revoke(self, member_id: int, role: Role, chapter: str | None, source: str) -> bool:
        """Take back a role granted from ``source``; False if there was none."""
        ...

    def touch(self, member_id: int, at: datetime) -> None:
        """Note that the member was seen at ``at`` (``updated_at`` is their "last seen"); cheap
        when called on every event: written at most about once a day."""
        ...


class DialogRepository(Protocol):
    """The state of the multi-step dialog running in each chat."""

    def get(self, chat: ChatRef) -> DialogState | None: ...

    def put(self, chat: ChatRef, state: DialogState) -> None: ...

    def delete(self, chat: ChatRef) -> None: ...


class LinkCodeRepository(Protocol):
    """One-time codes that join a second platform account to a member."""

    def add(self, code_hash: str, member_id: int, expires_at: datetime) -> None: ...

    def take(self, code_hash: str, now: datetime) -> int | None:
        """Use a code once: returns its member id if it exists, is unused and not expired."""
        ...


class OutboxRepository(Protocol):
    def add(self, item: OutboxItem) -> bool:
        """Queue a message; False (and nothing queued) if its dedupe key was queued before."""
        ...

    def report(self, batch: str) -> dict[tuple[str, str], int]:
        """How many messages of ``batch`` are in each (platform, status)."""
        ...

    def withdraw(self, key_prefix: str) -> int:
        """Cancel the messages not sent yet whose dedupe key starts with ``key_prefix``."""
        ...


class AnnouncementRepository(Protocol):
    def add(self, announcement: Announcement) -> Announcement: ...

    def get(self, announcement_id: int) -> Announcement | None: ...

    def save(self, announcement: Announcement) -> None: ...

    def due(self, now: datetime, limit: int) -> builtins.list[Announcement]:
        """Scheduled announcements whose time has come, oldest first."""
        ...

    def cancel(self, announcement_id: int) -> bool:
        """Cancel it if it is still scheduled (one conditional write); False if it was sent
        or cancelled meanwhile."""
        ...

    def recent(self, author_id: int | None, limit: int) -> builtins.list[Announcement]:
        """The latest announcements, of one author or (None) of everyone."""
        ...


@dataclass(frozen=True)
class DueReminder:
    id: int
    key: str
    member_id: int
    texts: dict[str, str]


class ReminderRepository(Protocol):
    def add(self, key: str, member_id: int, due_at: datetime, texts: dict[str, str]) -> bool:
        """Schedule a reminder; False if one with this key exists."""
        ...

    def due(self, now: datetime, limit: int) -> builtins.list[DueReminder]: ...

    def mark_sent(self, ids: builtins.list[int]) -> None: ...


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    action: str
    details: JSONDict
    audience_size: int | None


class AuditLog(Protocol):
    def record(
        self, actor_id: int | None, action: str, details: JSONDict, audience_size: int | None, at: datetime
    ) -> None: ...

    def recent(self, limit: int, before_id: int | None = None) -> builtins.list[AuditEntry]:
        """The latest entries, newest first (older than ``before_id`` when given)."""
        ...


class SurveyRepository(Protocol):
    def add(self, survey: Survey) -> Survey: ...

    def get(self, survey_id: int, *, lock: bool = False) -> Survey | None:
        """A survey; ``lock`` holds it until the end of the transaction (PostgreSQL)."""
        ...

    def save(self, survey: Survey) -> None: ...

    def recent(self, limit: int) -> builtins.list[Survey]:
        """The latest surveys, newest first."""
        ...

    def active(self) -> builtins.list[Survey]:
        """Scheduled and open surveys (the due scan decides what to do with each)."""
        ...

    def template(self) -> Survey | None:
        """The latest meetup follow-up template saved by a coordinator, if any."""
        ...

    def invite(self, survey_id: int, member_id: int, chapter: str | None) -> bool:
        """Record an invitation; False if the member was invited before."""
        ...

    def invitees(self, survey_id: int) -> builtins.list[int]: ...

    def is_invited(self, survey_id: int, member_id: int) -> bool: ...

    def invited_surveys(self, member_id: int) -> builtins.list[int]:
        """Ids of the surveys this member was invited to, newest first."""
        ...

    def response(self, survey_id: int, token: str, *, lock: bool = False) -> Response | None:
        """A response by its token; ``lock`` holds it until the end of the transaction."""
        ...

    def start(self, response: Response) -> Response:
        """Create the response, or return the one a concurrent press created first."""
        ...

    def save_response(self, response: Response) -> None: ...

    def answers(self, response_id: int) -> dict[int, Answer]:
        """question index -> the response's answer."""
        ...

    def put_answer(self, survey_id: int, response: Response, question: int, answer: Answer | None) -> None:
        """Store (or replace, or with None remove) the response's answer to a question."""
        ...

    def finished_tokens(self, survey_id: int) -> set[str]: ...

    def turnout(self, survey_id: int) -> builtins.list[Turnout]:
        """Invited, started and completed per chapter."""
        ...

    def tallies(self, survey_id: int) -> builtins.list[Tally]:
        """Answer rows counted by (question, chapter, value, language)."""
        ...

    def texts(
        self, survey_id: int, questions: builtins.list[int], per_question: int
    ) -> builtins.list[tuple[int, str, str | None]]:
        """(question, text, language) of the latest answers to the free-text ``questions``,
        up to ``per_question`` each."""
        ...

    def export(self, survey_id: int) -> builtins.list[tuple[Response, dict[int, Answer]]]:
        """Every response with its answers, for the CSV file."""
        ...


class MeetupRepository(Protocol):
    def add(self, meetup: Meetup) -> Meetup: ...

    def get(self, meetup_id: int, *, lock: bool = False) -> Meetup | None:
        """A meetup; ``lock`` holds it until the end of the transaction, which makes every
        answer to one meetup take its turn (seats are counted under this lock)."""
        ...

    def save(self, meetup: Meetup) -> None: ...

    def by_code(self, code: str) -> Meetup | None: ...

    def upcoming(self, after: datetime, limit: int) -> builtins.list[Meetup]: ...

    def attendance(self, meetup_id: int, member_id: int) -> Attendance | None: ...

    def attendances(self, meetup_id: int) -> builtins.list[Attendance]:
        """Every answer to the meetup, in arrival order."""
        ...

    def seats_taken(self, meetup_id: int, but: int | None = None) -> int:
        """Seats of those going (guests included), leaving out member ``but``."""
        ...

    def waitlist(self, meetup_id: int) -> builtins.list[Attendance]:
        """Those waiting, first come first."""
        ...

    def next_position(self, meetup_id: int) -> int: ...

    def put(self, attendance: Attendance) -> None:
        """Insert or update a member's answer."""
        ...

    def of_member(self, member_id: int, meetup_ids: builtins.list[int]) -> dict[int, Attendance]: ...

    def attended(self, meetup_id: int) -> builtins.list[int]:
        """Ids of the members who checked in."""
        ...


class MentoringRepository(Protocol):
    def add(self, mentorship: Mentorship) -> Mentorship: ...

    def get(self, mentorship_id: int, *, lock: bool = False) -> Mentorship | None: ...

    def save(self, mentorship: Mentorship) -> None: ...

    def active(self) -> builtins.list[Mentorship]: ...

    def of_member(self, member_id: int) -> builtins.list[Mentorship]:
        """Every mentorship the member was in, ended ones too."""
        ...

    def load_by_mentor(self) -> dict[int, int]:
        """Active mentees per mentor."""
        ...

    def pairs_ever(self) -> set[tuple[int, int]]:
        """(mentee, mentor) of every mentorship there ever was."""
        ...

    def serialize(self, name: str) -> None:
        """Make the rest of this transaction wait for any other holding ``name`` (matching,
        a coffee round): on PostgreSQL an advisory transaction lock; SQLite's writers take
        turns already."""
        ...

    def add_run(self, run: MatchRun) -> MatchRun: ...

    def latest_run(self, author_id: int | None, *, lock: bool = False) -> MatchRun | None: ...

    def confirm_run(self, run_id: int) -> bool:
        """Mark a run confirmed; False if it was confirmed already."""
        ...

    def add_round(self, coffee: CoffeeRound) -> CoffeeRound: ...

    def recent_rounds(self, scope: str, limit: int) -> builtins.list[CoffeeRound]: ...

    def rounds_to_follow_up(self, before: datetime) -> builtins.list[CoffeeRound]: ...

    def get_round(self, round_id: int, *, lock: bool = False) -> CoffeeRound | None: ...

    def save_round(self, coffee: CoffeeRound) -> None: ...

    def set_schedule(self, scope: str, cron: str, time_zone: str) -> None: ...

    def clear_schedule(self, scope: str) -> bool: ...

    def schedules(self) -> builtins.list[tuple[str, str, str]]:
        """(scope, cron, time zone) of every coffee round schedule."""
        ...


class PrivacyRepository(Protocol):
    """What a member may see of, and have erased from, everything stored about them."""

    def export(self, member_id: int, chats: builtins.list[ChatRef]) -> JSONDict:
        """Everything stored about the member, JSON-ready (times as ISO strings): their profile,
        identities, roles, the dialogs of ``chats`` and of their private chats, answers,
        mentorships, coffee rounds, named survey answers, deliveries to them, link codes
        (without the hash) and their audit entries. Of other members: display names only."""
        ...

    def forget(self, member_id: int, chats: builtins.list[ChatRef]) -> None:
        """Erase the member: their row, identities, roles, link codes, the dialogs of ``chats``
        and of their private chats, what was queued for them and not sent; what statistics
        need stays, with nothing that leads back to them (see storage/repositories/privacy.py).
        Mentorships are deleted: end them (and tell the other side) first."""
        ...

    def inactive(self, before: datetime, limit: int) -> builtins.list[int]:
        """Ids of members last seen (``updated_at``) before ``before``, oldest first."""
        ...

    def last_seen(self, member_id: int, *, lock: bool = False) -> datetime | None:
        """When the member was last seen; ``lock`` holds their row to the end of the
        transaction (PostgreSQL). None if there is no such member."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories inside, commit or roll back at the end."""

    @property
    def members(self) -> MemberRepository: ...

    @property
    def dialogs(self) -> DialogRepository: ...

    @property
    def link_codes(self) -> LinkCodeRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def announcements(self) -> AnnouncementRepository: ...

    @property
    def reminders(self) -> ReminderRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def surveys(self) -> SurveyRepository: ...

    @property
    def meetups(self) -> MeetupRepository: ...

    @property
    def mentoring(self) -> MentoringRepository: ...

    @property
    def privacy(self) -> PrivacyRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]


class IdentityTaken(Exception):
    """The platform account already belongs to another member."""
